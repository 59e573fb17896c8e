DROP INDEX IF EXISTS reports_live_conversations;
DROP TABLE IF EXISTS reporting_rollups;
DROP TABLE IF EXISTS reporting_conversations;
DROP TABLE IF EXISTS reporting_events;
DROP FUNCTION IF EXISTS reporting_rollup();
