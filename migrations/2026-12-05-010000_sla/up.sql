-- Issue 13 (SLA policies): policies, the SLA applied to a conversation (at most one), and
-- the record of each missed deadline. Names follow Chatwoot's sla_policies, applied_slas
-- and sla_events.
CREATE TABLE sla_policies (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- seconds; NULL: no such target
    first_response_time_threshold BIGINT,
    next_response_time_threshold BIGINT,
    resolution_time_threshold BIGINT,
    only_during_business_hours BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX sla_policies_account ON sla_policies (account_id, id);

CREATE TABLE applied_slas (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL UNIQUE REFERENCES conversations(id) ON DELETE CASCADE,
    sla_policy_id BIGINT NOT NULL REFERENCES sla_policies(id) ON DELETE CASCADE,
    -- active | hit | missed | active_with_misses
    sla_status TEXT NOT NULL DEFAULT 'active',
    -- the nearest deadline not yet recorded as missed (NULL: none pending)
    due_at TIMESTAMPTZ,
    -- frt | nrt | rt: which target due_at is
    due_type TEXT,
    -- when the stretch behind due_at started (the once-only key of its miss)
    due_started_at TIMESTAMPTZ,
    -- a missed deadline is still unmet (no reply yet / not resolved yet)
    breached BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX applied_slas_due ON applied_slas (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX applied_slas_policy ON applied_slas (sla_policy_id);

CREATE TABLE sla_events (
    id BIGSERIAL PRIMARY KEY,
    applied_sla_id BIGINT NOT NULL REFERENCES applied_slas(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    -- frt | nrt | rt
    event_type TEXT NOT NULL,
    -- the start of the stretch that missed (conversation or SLA start, or the customer's
    -- oldest unanswered message for nrt) and the deadline it missed
    started_at TIMESTAMPTZ NOT NULL,
    due_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (applied_sla_id, event_type, started_at)
);

-- The assignee's notifications of a missed deadline (Chatwoot's notification types).
ALTER TABLE notifications DROP CONSTRAINT notifications_notification_type_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_notification_type_check
    CHECK (notification_type IN (
        'conversation_creation', 'conversation_assignment', 'assigned_conversation_new_message',
        'conversation_mention', 'participating_conversation_new_message',
        'sla_missed_first_response', 'sla_missed_next_response', 'sla_missed_resolution'));
