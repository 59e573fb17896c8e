DROP TABLE IF EXISTS notification_settings;
