DROP TABLE sla_events;
DROP TABLE applied_slas;
DROP TABLE sla_policies;
