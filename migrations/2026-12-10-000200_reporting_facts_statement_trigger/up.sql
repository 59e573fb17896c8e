-- Issue 15 (ingest): a reporting fact joins `reporting_pending` through a statement-level
-- trigger reading the statement's transition table, one INSERT … SELECT per statement,
-- instead of a row trigger running one INSERT per fact. An ingest unit of 50 new customers
-- stores about 100 facts in one statement; the row trigger ran 100 plpgsql INSERTs for them.
-- Same rows, same transaction, same moment (AFTER triggers of both kinds fire at the end of
-- the statement). Transition tables need one trigger per event: INSERT adds (+1), DELETE
-- takes back (-1).
CREATE FUNCTION reporting_facts_pending() RETURNS trigger AS $$
BEGIN
    INSERT INTO reporting_pending (fact_id, account_id, name, inbox_id, team_id, user_id,
        conversation_id, event_end_time, value, value_bh, sign)
    SELECT r.id, r.account_id, r.name, COALESCE(r.inbox_id, 0), COALESCE(r.team_id, 0),
        COALESCE(r.user_id, 0), r.conversation_id, r.event_end_time, COALESCE(r.value, 0),
        COALESCE(r.value_in_business_hours, 0), CASE WHEN TG_OP = 'DELETE' THEN -1 ELSE 1 END
    FROM facts r ORDER BY r.id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER reporting_events_rollup ON reporting_events;
CREATE TRIGGER reporting_events_added AFTER INSERT ON reporting_events
    REFERENCING NEW TABLE AS facts
    FOR EACH STATEMENT EXECUTE FUNCTION reporting_facts_pending();
CREATE TRIGGER reporting_events_removed AFTER DELETE ON reporting_events
    REFERENCING OLD TABLE AS facts
    FOR EACH STATEMENT EXECUTE FUNCTION reporting_facts_pending();
