DROP INDEX IF EXISTS messages_content_trgm, contacts_bsuid_trgm, contacts_phone_number_trgm, contacts_name_trgm;
-- pg_trgm stays installed: other objects may use it.
DROP TABLE IF EXISTS labels;
DROP INDEX IF EXISTS teams_account_name;
ALTER TABLE teams DROP COLUMN allow_auto_assign, DROP COLUMN updated_at;
DROP TABLE IF EXISTS password_reset_tokens;
