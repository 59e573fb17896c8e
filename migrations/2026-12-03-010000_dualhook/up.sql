-- Dualhook (issue 12): the account's Platform credentials, the lifecycle event journal,
-- Switchboard's pending "Connect WhatsApp via Dualhook" records and the state of each inbox
-- Dualhook connected.

CREATE TABLE dualhook_integrations (
    account_id BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    api_key_ciphertext TEXT,
    partner_secret_ciphertext TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE dualhook_connections (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    connection_key TEXT NOT NULL,
    verify_token TEXT NOT NULL,
    inbox_name TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    session_id TEXT,
    onboarding_url TEXT,
    failure_reason TEXT,
    waba_id TEXT,
    requested_by BIGINT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX dualhook_connections_key ON dualhook_connections (connection_key);
CREATE INDEX dualhook_connections_account ON dualhook_connections (account_id, id);

CREATE TABLE dualhook_inboxes (
    inbox_id BIGINT PRIMARY KEY REFERENCES inboxes(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    connection_row_id BIGINT REFERENCES dualhook_connections(id) ON DELETE SET NULL,
    dualhook_connection_id TEXT NOT NULL,
    connection_mode TEXT NOT NULL DEFAULT 'unknown',
    mode_at TIMESTAMPTZ,
    heartbeat_status TEXT,
    heartbeat_next_due_at TIMESTAMPTZ,
    heartbeat_last_confirmed_at TIMESTAMPTZ,
    heartbeat_at TIMESTAMPTZ,
    disconnected_at TIMESTAMPTZ,
    disconnected_reason TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX dualhook_inboxes_connection ON dualhook_inboxes (account_id, dualhook_connection_id);
CREATE INDEX dualhook_inboxes_row ON dualhook_inboxes (connection_row_id);

CREATE TABLE dualhook_events (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event TEXT NOT NULL,
    raw_body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    summary TEXT,
    error TEXT,
    dualhook_connection_id TEXT,
    inbox_id BIGINT REFERENCES inboxes(id) ON DELETE SET NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    processed_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX dualhook_events_event_id ON dualhook_events (account_id, event_id);
CREATE INDEX dualhook_events_inbox ON dualhook_events (inbox_id, id);
CREATE INDEX dualhook_events_connection ON dualhook_events (account_id, dualhook_connection_id);
