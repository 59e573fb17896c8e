-- Canned responses (Chatwoot's canned_responses): saved replies an agent inserts by typing
-- /short_code in the composer. The short code is unique per account whatever its case.
CREATE TABLE canned_responses (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- no whitespace, 1 to 64 characters (domain/canned_responses.rs)
    short_code TEXT NOT NULL,
    -- 1 to 4096 characters, variables such as {{contact.name}} kept verbatim
    content TEXT NOT NULL,
    -- who created it: agents may change and delete only their own (Chatwoot's policy)
    created_by_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX canned_responses_account_short_code
    ON canned_responses (account_id, lower(short_code));

-- Files sent along when a canned response is inserted; stored under STORAGE_DIR like the
-- agents' uploads (outgoing/<random>/<name>).
CREATE TABLE canned_response_attachments (
    id BIGSERIAL PRIMARY KEY,
    canned_response_id BIGINT NOT NULL REFERENCES canned_responses(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    -- bytes
    file_size BIGINT NOT NULL,
    -- relative to STORAGE_DIR
    storage_path TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX canned_response_attachments_response
    ON canned_response_attachments (canned_response_id);
