-- The conversation list's sorts, filters, saved views and bulk actions (issue 10).

-- Chatwoot's `waiting_since`: when the customer's oldest unanswered message arrived. Set by
-- an incoming message when it is NULL, cleared by a reply (an agent's outgoing message or
-- template, or an echo of one sent from the phone); activity lines and private notes leave
-- it alone. NULL = nobody is waiting. `domain::conversations::record_message` and
-- `clear_waiting` maintain it.
ALTER TABLE conversations ADD COLUMN waiting_since TIMESTAMPTZ;

-- Backfill: the first incoming message after the last reply, per conversation.
UPDATE conversations c SET waiting_since = w.since
FROM (
    SELECT m.conversation_id, min(m.created_at) AS since
    FROM messages m
    WHERE m.message_type = 0
      AND m.created_at > COALESCE((
          SELECT max(o.created_at) FROM messages o
          WHERE o.conversation_id = m.conversation_id AND o.message_type IN (1, 3) AND NOT o.private
      ), '-infinity'::timestamptz)
    GROUP BY m.conversation_id
) w
WHERE w.conversation_id = c.id;

-- One index per sort, in the sort's order (see `domain::conversations::ListSort`), so a page
-- is an index range: created newest/oldest first, and waiting longest first (nobody waiting
-- sorts last, as the far-future sentinel the query repeats word for word).
CREATE INDEX conversations_account_created ON conversations (account_id, created_at DESC, id DESC);
CREATE INDEX conversations_account_waiting ON conversations
    (account_id, (COALESCE(waiting_since, '9999-12-31 00:00:00+00'::timestamptz)), id);

-- Saved views (Chatwoot's custom filters, shown as "folders"): one user's, in one account.
-- `query` is the `POST /conversations/filter` body (`{"payload":[…]}`).
CREATE TABLE custom_filters (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    filter_type TEXT NOT NULL DEFAULT 'conversation',
    query JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX custom_filters_owner ON custom_filters (account_id, user_id, id);
