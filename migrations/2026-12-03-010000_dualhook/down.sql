DROP TABLE dualhook_events;
DROP TABLE dualhook_inboxes;
DROP TABLE dualhook_connections;
DROP TABLE dualhook_integrations;
