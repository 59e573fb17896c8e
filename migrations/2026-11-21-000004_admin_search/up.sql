-- Administration (agents' password links, teams, labels) and search.

-- One-time links that set a user's password: invitations (7 days) and, later, resets.
-- Only the SHA-256 hex digest of the token is stored; the token itself is in the email.
CREATE TABLE password_reset_tokens (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_digest TEXT NOT NULL UNIQUE,
    expires_at TIMESTAMPTZ NOT NULL,
    -- set when the link is used (or superseded by another use): it never works twice
    used_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX password_reset_tokens_user ON password_reset_tokens (user_id);

-- Chatwoot's team fields; team names are unique per account, whatever their case.
ALTER TABLE teams
    ADD COLUMN allow_auto_assign BOOLEAN NOT NULL DEFAULT TRUE,
    ADD COLUMN updated_at TIMESTAMPTZ NOT NULL DEFAULT now();
-- Older duplicates (allowed before this migration) get their id appended, so the index builds.
UPDATE teams t SET name = t.name || ' (' || t.id || ')'
WHERE EXISTS (SELECT 1 FROM teams o
              WHERE o.account_id = t.account_id AND lower(o.name) = lower(t.name) AND o.id < t.id);
CREATE UNIQUE INDEX teams_account_name ON teams (account_id, lower(name));

-- Chatwoot's labels: the account's defined labels. Conversations carry them by title in
-- conversations.labels (TEXT[]); renaming or deleting a label rewrites those arrays.
CREATE TABLE labels (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- lowercase letters, digits, '-' and '_' (conversations::normalize_labels)
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- '#rgb' or '#rrggbb'
    color TEXT NOT NULL DEFAULT '#1f93ff',
    show_on_sidebar BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX labels_account_title ON labels (account_id, lower(title));

-- Search: ILIKE '%term%' is served by trigram GIN indexes (pg_trgm ships with PostgreSQL
-- and is a trusted extension, so the database owner may create it).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX contacts_name_trgm ON contacts USING gin (name gin_trgm_ops);
CREATE INDEX contacts_phone_number_trgm ON contacts USING gin (phone_number gin_trgm_ops);
CREATE INDEX contacts_bsuid_trgm ON contacts USING gin (bsuid gin_trgm_ops);
-- Only what search looks at: what the customer and the agents wrote, not private notes or
-- activity lines. The search query repeats this predicate word for word (domain/search.rs).
CREATE INDEX messages_content_trgm ON messages USING gin (content gin_trgm_ops)
    WHERE message_type IN (0, 1) AND NOT private;
