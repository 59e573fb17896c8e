-- Per-agent email notification preferences, per account. A missing row means every kind is on.
CREATE TABLE notification_settings (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    email_conversation_assigned BOOLEAN NOT NULL DEFAULT TRUE,
    email_conversation_created BOOLEAN NOT NULL DEFAULT TRUE,
    email_webhook_disabled BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, account_id)
);
CREATE INDEX notification_settings_account ON notification_settings (account_id);
