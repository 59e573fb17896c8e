DROP TRIGGER IF EXISTS reporting_events_added ON reporting_events;
DROP TRIGGER IF EXISTS reporting_events_removed ON reporting_events;
CREATE TRIGGER reporting_events_rollup AFTER INSERT OR DELETE ON reporting_events
    FOR EACH ROW EXECUTE FUNCTION reporting_rollup();
DROP FUNCTION IF EXISTS reporting_facts_pending();
