-- Outgoing integration webhooks (Chatwoot's Webhooks API) and their recent delivery attempts.

CREATE TABLE webhooks (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- set: only this inbox's events are delivered
    inbox_id BIGINT REFERENCES inboxes(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    name TEXT,
    -- Chatwoot event names: message_created, conversation_status_changed, ...
    subscriptions TEXT[] NOT NULL DEFAULT '{}',
    -- the HMAC signing secret, encrypted with SECRET_KEY_BASE (crypto::SecretBox)
    secret_ciphertext TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    -- why the webhook was disabled (e.g. too many failed deliveries in a row)
    disabled_reason TEXT,
    -- failed deliveries (after every retry) since the last success
    consecutive_failures INT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_account ON webhooks (account_id);

-- One row per HTTP attempt; only the latest 50 per webhook are kept.
CREATE TABLE webhook_deliveries (
    id BIGSERIAL PRIMARY KEY,
    webhook_id BIGINT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    -- X-Chatwoot-Delivery: the same for every attempt of one event
    delivery_id TEXT NOT NULL,
    event TEXT NOT NULL,
    -- 1 for the first attempt
    attempt INT NOT NULL,
    -- the receiver's HTTP status; NULL when no answer came
    status_code INT,
    duration_ms BIGINT NOT NULL,
    -- NULL on success
    error TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id DESC);
