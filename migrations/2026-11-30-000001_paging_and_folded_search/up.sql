-- Paging on a unique ordered key, and search that ignores accents and case.

-- Accent- and case-insensitive search. unaccent ships with PostgreSQL (contrib) and is a
-- trusted extension, so the database owner may create it.
CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;

-- unaccent(text) is only STABLE (it finds its dictionary through search_path), so no index
-- may use it. This wrapper names the dictionary by schema and is declared IMMUTABLE, the
-- usual way to index unaccented text: 'Zoë', 'ZOE' and 'zoe' all fold to 'zoe'.
-- domain/search.rs calls it by this name on both sides of LIKE.
CREATE FUNCTION switchboard_fold(input TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN lower(public.unaccent('public.unaccent'::regdictionary, input));

-- Trigram indexes on the folded text replace those on the raw text (the predicate of the
-- message index is repeated word for word by the search query).
CREATE INDEX messages_content_fold_trgm ON messages USING gin (switchboard_fold(content) gin_trgm_ops)
    WHERE message_type IN (0, 1) AND NOT private;
DROP INDEX IF EXISTS messages_content_trgm;
CREATE INDEX contacts_name_fold_trgm ON contacts USING gin (switchboard_fold(name) gin_trgm_ops);
DROP INDEX IF EXISTS contacts_name_trgm;
CREATE INDEX contacts_email_fold_trgm ON contacts USING gin (switchboard_fold(email) gin_trgm_ops);

-- Paging: every list is ordered on a unique key (its sort column, then id), and each has an
-- index in that order so a page is an index range, however deep.
-- Conversation list: (last_activity_at, id) newest first.
DROP INDEX IF EXISTS conversations_account_activity;
CREATE INDEX conversations_account_activity ON conversations (account_id, last_activity_at DESC, id DESC);
-- Search's contacts are sorted by (last_activity_at, id) after the trigram match, with no
-- index of their own: every incoming message moves its contact's last_activity_at, and an
-- index on it would make each of those updates rewrite every contacts index (the trigram
-- GINs included; `scripts/bench`, 20,000 deliveries: 294 to 437 messages/s ingested with
-- it, 422 to 484 without).
-- Search's messages: (created_at, id) newest first, over what search looks at.
CREATE INDEX messages_account_created ON messages (account_id, created_at DESC, id DESC)
    WHERE message_type IN (0, 1) AND NOT private;
-- A conversation's thread is served by messages_conversation (conversation_id, created_at, id).
-- A webhook's delivery attempts: (created_at, id) newest first.
CREATE INDEX webhook_deliveries_webhook_created ON webhook_deliveries (webhook_id, created_at DESC, id DESC);
