-- Switchboard core schema. Table and column names follow Chatwoot so /api/v1 maps one to one.

CREATE TABLE accounts (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Conversations are numbered per account (display_id), from a sequence per account as in
-- Chatwoot (conv_dpid_seq_<account_id>): no hot counter row, so concurrent ingest never waits
-- on it. Numbers lost to a rolled-back insert leave gaps, which is harmless.
CREATE FUNCTION accounts_create_display_id_sequence() RETURNS trigger AS $$
BEGIN
    EXECUTE format('CREATE SEQUENCE IF NOT EXISTS conv_dpid_seq_%s', NEW.id);
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER accounts_display_id_sequence AFTER INSERT ON accounts
    FOR EACH ROW EXECUTE FUNCTION accounts_create_display_id_sequence();

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    -- argon2id PHC string
    encrypted_password TEXT NOT NULL,
    -- SHA-256 hex of the api_access_token; the token itself is never stored
    access_token_digest TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));

CREATE TABLE account_users (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('administrator', 'agent')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (account_id, user_id)
);

CREATE TABLE channel_whatsapp (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- E.164 with the leading '+', exactly as it appears in the webhook path
    phone_number TEXT NOT NULL UNIQUE,
    provider TEXT NOT NULL DEFAULT 'whatsapp_cloud',
    phone_number_id TEXT NOT NULL,
    business_account_id TEXT NOT NULL,
    -- AES-256-GCM ciphertexts (see src/crypto.rs)
    api_key_ciphertext TEXT NOT NULL,
    app_secret_ciphertext TEXT,
    webhook_verify_token TEXT NOT NULL,
    -- 'embedded_signup' or NULL (manual setup)
    source TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE inboxes (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL UNIQUE REFERENCES channel_whatsapp(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    channel_type TEXT NOT NULL DEFAULT 'Channel::Whatsapp',
    enable_auto_assignment BOOLEAN NOT NULL DEFAULT TRUE,
    last_webhook_at TIMESTAMPTZ,
    -- the latest value.errors item Meta reported for this number
    last_error JSONB,
    last_error_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX inboxes_account ON inboxes (account_id);

CREATE TABLE inbox_members (
    id BIGSERIAL PRIMARY KEY,
    inbox_id BIGINT NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (inbox_id, user_id)
);

CREATE TABLE contacts (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL DEFAULT '',
    -- '+digits' or NULL for username-only users
    phone_number TEXT,
    email TEXT,
    identifier TEXT,
    -- business-scoped user id (Meta, 2026) and its parent, plus the WhatsApp username
    bsuid TEXT,
    parent_bsuid TEXT,
    username TEXT,
    additional_attributes JSONB NOT NULL DEFAULT '{}',
    custom_attributes JSONB NOT NULL DEFAULT '{}',
    last_activity_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX contacts_account ON contacts (account_id, id);

CREATE TABLE contact_inboxes (
    id BIGSERIAL PRIMARY KEY,
    contact_id BIGINT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    inbox_id BIGINT NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    -- phone digits (wa_id), BSUID or parent BSUID
    source_id TEXT NOT NULL,
    -- 'phone' | 'bsuid' | 'parent_bsuid'
    source_kind TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (inbox_id, source_id)
);
CREATE INDEX contact_inboxes_contact ON contact_inboxes (contact_id);

CREATE TABLE teams (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE conversations (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    inbox_id BIGINT NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    display_id INTEGER NOT NULL,
    uuid TEXT NOT NULL DEFAULT gen_random_uuid()::text,
    contact_id BIGINT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    contact_inbox_id BIGINT REFERENCES contact_inboxes(id) ON DELETE SET NULL,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'resolved', 'snoozed')),
    priority TEXT CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    assignee_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    team_id BIGINT REFERENCES teams(id) ON DELETE SET NULL,
    snoozed_until TIMESTAMPTZ,
    -- timestamp of the latest incoming (customer) message: the customer service window
    last_incoming_at TIMESTAMPTZ,
    last_activity_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    agent_last_seen_at TIMESTAMPTZ,
    additional_attributes JSONB NOT NULL DEFAULT '{}',
    custom_attributes JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (account_id, display_id)
);
CREATE FUNCTION conversations_set_display_id() RETURNS trigger AS $$
BEGIN
    IF NEW.display_id IS NULL THEN
        NEW.display_id := nextval(format('conv_dpid_seq_%s', NEW.account_id));
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER conversations_display_id BEFORE INSERT ON conversations
    FOR EACH ROW EXECUTE FUNCTION conversations_set_display_id();
CREATE INDEX conversations_contact_inbox ON conversations (inbox_id, contact_id, id DESC);
CREATE INDEX conversations_account_activity ON conversations (account_id, last_activity_at DESC);

CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    inbox_id BIGINT NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    -- 0 incoming, 1 outgoing, 2 activity, 3 template (Chatwoot's integers)
    message_type SMALLINT NOT NULL CHECK (message_type BETWEEN 0 AND 3),
    content TEXT,
    content_type TEXT NOT NULL DEFAULT 'text',
    content_attributes JSONB NOT NULL DEFAULT '{}',
    private BOOLEAN NOT NULL DEFAULT FALSE,
    -- progress | sent | delivered | read | played | failed
    status TEXT NOT NULL DEFAULT 'sent',
    -- the wamid
    source_id TEXT,
    external_error TEXT,
    sender_type TEXT,
    sender_id BIGINT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Idempotency: Meta delivers at least once; one wamid is one message per inbox.
CREATE UNIQUE INDEX messages_inbox_source_id ON messages (inbox_id, source_id);
CREATE INDEX messages_conversation ON messages (conversation_id, created_at, id);

CREATE TABLE attachments (
    id BIGSERIAL PRIMARY KEY,
    message_id BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- image | audio | video | file | location | contact
    file_type TEXT NOT NULL,
    media_id TEXT,
    mime_type TEXT,
    -- sha256 as Meta sent it (base64 in webhooks)
    sha256 TEXT,
    file_size BIGINT,
    file_name TEXT,
    -- path relative to STORAGE_DIR once downloaded
    storage_path TEXT,
    -- pending | downloaded | failed | none (no media to download)
    download_status TEXT NOT NULL DEFAULT 'none',
    download_error TEXT,
    coordinates_lat DOUBLE PRECISION,
    coordinates_long DOUBLE PRECISION,
    fallback_title TEXT,
    external_url TEXT,
    meta JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX attachments_message ON attachments (message_id);

-- Updates that target a wamid not stored yet (a status before its message, a reaction
-- before its target). Applied and deleted when the message appears.
CREATE TABLE pending_message_updates (
    id BIGSERIAL PRIMARY KEY,
    inbox_id BIGINT NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    source_id TEXT NOT NULL,
    -- status | reaction | revoke | edit
    kind TEXT NOT NULL,
    payload JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX pending_message_updates_target ON pending_message_updates (inbox_id, source_id);

-- The durable journal: every accepted webhook POST, committed before Meta gets its 200.
CREATE TABLE whatsapp_events (
    id BIGSERIAL PRIMARY KEY,
    inbox_id BIGINT REFERENCES inboxes(id) ON DELETE SET NULL,
    phone_number TEXT NOT NULL,
    -- the raw body exactly as received (UTF-8 JSON)
    raw_body TEXT NOT NULL,
    -- pending | processed | failed
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    -- change fields this route records but does not act on (e.g. template status updates)
    unhandled_fields TEXT[],
    run_after TIMESTAMPTZ NOT NULL DEFAULT now(),
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    processed_at TIMESTAMPTZ
);
-- The ingest claim scans only pending rows, oldest first.
CREATE INDEX whatsapp_events_pending ON whatsapp_events (id) WHERE status = 'pending';

-- Generic job queue (claimed with FOR UPDATE SKIP LOCKED).
CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    payload JSONB NOT NULL,
    -- pending | done | failed
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 8,
    run_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX jobs_due ON jobs (run_at, id) WHERE status = 'pending';
