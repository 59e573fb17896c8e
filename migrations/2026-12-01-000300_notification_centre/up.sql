-- Issue 10: the notification centre, @mentions and conversation participants.

-- In-app notifications (Chatwoot's `notifications`): one row per user, account and event.
-- The primary actor is always the conversation (Chatwoot's PRIMARY_ACTORS); the secondary
-- actor is the user who caused it (assignment, mention) or the message (new message).
CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    notification_type TEXT NOT NULL CHECK (notification_type IN (
        'conversation_creation', 'conversation_assignment', 'assigned_conversation_new_message',
        'conversation_mention', 'participating_conversation_new_message')),
    primary_actor_type TEXT NOT NULL DEFAULT 'Conversation',
    primary_actor_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    secondary_actor_type TEXT CHECK (secondary_actor_type IN ('User', 'Message')),
    secondary_actor_id BIGINT,
    read_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- The bell's list (newest first) and its unread count.
CREATE INDEX notifications_user_account ON notifications (user_id, account_id, id DESC);
CREATE INDEX notifications_unread ON notifications (user_id, account_id) WHERE read_at IS NULL;
-- Deleting a conversation deletes its notifications.
CREATE INDEX notifications_conversation ON notifications (primary_actor_id);

-- Chatwoot's `conversation_participants`: agents who take part in a conversation (mentioned,
-- wrote in it, or added by hand) and hear about its new messages.
CREATE TABLE conversation_participants (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (conversation_id, user_id)
);
CREATE INDEX conversation_participants_user ON conversation_participants (user_id);

-- Chatwoot's `team_members`: who belongs to a team (a team @mention notifies them).
CREATE TABLE team_members (
    id BIGSERIAL PRIMARY KEY,
    team_id BIGINT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

-- Email for the new kinds. Mentions email by default; new-message emails (one per customer
-- message) are off until the agent turns them on.
ALTER TABLE notification_settings
    ADD COLUMN email_conversation_mention BOOLEAN NOT NULL DEFAULT TRUE,
    ADD COLUMN email_assigned_conversation_new_message BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN email_participating_conversation_new_message BOOLEAN NOT NULL DEFAULT FALSE;
