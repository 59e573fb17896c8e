DROP TABLE IF EXISTS realtime_events;
