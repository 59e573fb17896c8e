-- Domain events: what changed for agents (a message created or updated, a conversation
-- opened, its status, assignee, priority, labels or team changed). Each row is written in
-- the transaction of the change and announced with pg_notify('switchboard_events', id), so
-- every server process's realtime hub delivers it over SSE; reconnecting clients replay from
-- here by `Last-Event-ID`. Rows are pruned after 24 hours.
CREATE TABLE realtime_events (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- NULL for account-wide events (visible to every member of the account)
    inbox_id BIGINT REFERENCES inboxes(id) ON DELETE CASCADE,
    -- conversations.id (not display_id); no foreign key so history outlives a deletion
    conversation_id BIGINT,
    -- Chatwoot's realtime name, e.g. message.created
    name TEXT NOT NULL,
    -- a few ids and fields; clients fetch the details
    payload JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Replay: an account's events after a given id.
CREATE INDEX realtime_events_account_id_id ON realtime_events (account_id, id);
-- Pruning by age on an append-only table: a BRIN index costs almost nothing to keep.
CREATE INDEX realtime_events_created_at_brin ON realtime_events USING brin (created_at);
