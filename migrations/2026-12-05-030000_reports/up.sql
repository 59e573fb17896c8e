-- Issue 14 (reports): reporting events fed by the domain events, and hourly rollups.

-- One row per reportable fact (Chatwoot's reporting_events, extended). Durations in seconds.
CREATE TABLE reporting_events (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL,
    inbox_id BIGINT,
    conversation_id BIGINT,
    -- The agent the fact is about (the replier, or the assignee at the time).
    user_id BIGINT,
    -- The conversation's team at the time.
    team_id BIGINT,
    -- conversation_created, conversation_opened, first_response, reply_time,
    -- conversation_resolved, message_received, message_sent, template_sent, message_failed
    name TEXT NOT NULL,
    value DOUBLE PRECISION,
    value_in_business_hours DOUBLE PRECISION,
    event_start_time TIMESTAMPTZ,
    -- When the fact happened: the time reports bucket it by.
    event_end_time TIMESTAMPTZ NOT NULL,
    message_id BIGINT,
    -- template_sent: template name; message_failed: Meta error code.
    detail TEXT,
    -- template_sent: template category.
    category TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX reporting_events_account_name_time
    ON reporting_events (account_id, name, event_end_time);
CREATE INDEX reporting_events_conversation ON reporting_events (conversation_id);
-- A message is counted at most once per fact (a repeated or late status changes nothing).
CREATE UNIQUE INDEX reporting_events_message_fact
    ON reporting_events (message_id, name) WHERE message_id IS NOT NULL;
-- One first response per conversation (Chatwoot).
CREATE UNIQUE INDEX reporting_events_first_response
    ON reporting_events (conversation_id) WHERE name = 'first_response';

-- Per conversation: what the next facts are measured from.
CREATE TABLE reporting_conversations (
    conversation_id BIGINT PRIMARY KEY,
    -- Created, or reopened after a resolve.
    opened_at TIMESTAMPTZ NOT NULL,
    first_response_at TIMESTAMPTZ,
    -- The customer's oldest unanswered message (no human reply since).
    waiting_since TIMESTAMPTZ,
    resolved_at TIMESTAMPTZ
);

-- Hourly sums per account, inbox, team and agent (0: none), kept by the trigger below so
-- every insert or delete of a reporting event is reflected in the same transaction.
CREATE TABLE reporting_rollups (
    account_id BIGINT NOT NULL,
    hour TIMESTAMPTZ NOT NULL,
    name TEXT NOT NULL,
    inbox_id BIGINT NOT NULL DEFAULT 0,
    team_id BIGINT NOT NULL DEFAULT 0,
    user_id BIGINT NOT NULL DEFAULT 0,
    count BIGINT NOT NULL DEFAULT 0,
    sum_value DOUBLE PRECISION NOT NULL DEFAULT 0,
    sum_value_bh DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, name, hour, inbox_id, team_id, user_id)
);

CREATE FUNCTION reporting_rollup() RETURNS trigger AS $$
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

CREATE TRIGGER reporting_events_rollup AFTER INSERT OR DELETE ON reporting_events
    FOR EACH ROW EXECUTE FUNCTION reporting_rollup();

-- The live overview counts open and pending conversations without touching resolved ones.
CREATE INDEX reports_live_conversations ON conversations (account_id)
    INCLUDE (inbox_id, team_id, assignee_id, status, waiting_since)
    WHERE status IN ('open', 'pending');
