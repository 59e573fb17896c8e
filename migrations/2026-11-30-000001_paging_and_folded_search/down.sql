DROP INDEX IF EXISTS webhook_deliveries_webhook_created;
DROP INDEX IF EXISTS messages_account_created;
DROP INDEX IF EXISTS contacts_account_activity;
DROP INDEX IF EXISTS conversations_account_activity;
CREATE INDEX conversations_account_activity ON conversations (account_id, last_activity_at DESC);
DROP INDEX IF EXISTS contacts_email_fold_trgm;
DROP INDEX IF EXISTS contacts_name_fold_trgm;
CREATE INDEX contacts_name_trgm ON contacts USING gin (name gin_trgm_ops);
DROP INDEX IF EXISTS messages_content_fold_trgm;
CREATE INDEX messages_content_trgm ON messages USING gin (content gin_trgm_ops)
    WHERE message_type IN (0, 1) AND NOT private;
DROP FUNCTION IF EXISTS switchboard_fold(TEXT);
-- unaccent stays installed: other objects may use it.
