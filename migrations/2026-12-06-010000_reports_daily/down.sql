CREATE INDEX reporting_events_account_name_time ON reporting_events (account_id, name, event_end_time);
DROP INDEX reporting_events_account_name_time_values;
CREATE INDEX reporting_events_conversation ON reporting_events (conversation_id);
DROP INDEX reporting_events_conversation_facts;
DROP INDEX reporting_events_window_closed;
DROP INDEX reporting_conversations_open_windows;
ALTER TABLE reporting_conversations DROP COLUMN last_incoming_at, DROP COLUMN window_replied,
    DROP COLUMN window_closed_for;
DROP FUNCTION reporting_rebuild_rollups(BIGINT);
SELECT reporting_fold(2147483647);
DROP FUNCTION reporting_fold(INT);
DROP TRIGGER conversations_reporting_labels ON conversations;
DROP FUNCTION reporting_labels_changed();
DROP FUNCTION reporting_label_move(BIGINT, TEXT, INT);
DROP TABLE reporting_label_hourly;
DROP TABLE reporting_label_daily;
DROP TABLE reporting_daily;
DROP TABLE reporting_pending;
CREATE OR REPLACE FUNCTION reporting_rollup() RETURNS trigger AS $$
DECLARE
    r reporting_events;
    sign INT;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; sign := -1; ELSE r := NEW; sign := 1; END IF;
    INSERT INTO reporting_rollups AS u
        (account_id, hour, name, inbox_id, team_id, user_id, count, sum_value, sum_value_bh)
    VALUES (r.account_id, date_trunc('hour', r.event_end_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
            r.name, COALESCE(r.inbox_id, 0), COALESCE(r.team_id, 0), COALESCE(r.user_id, 0),
            sign, sign * COALESCE(r.value, 0), sign * COALESCE(r.value_in_business_hours, 0))
    ON CONFLICT (account_id, name, hour, inbox_id, team_id, user_id) DO UPDATE
        SET count = u.count + EXCLUDED.count,
            sum_value = u.sum_value + EXCLUDED.sum_value,
            sum_value_bh = u.sum_value_bh + EXCLUDED.sum_value_bh;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
