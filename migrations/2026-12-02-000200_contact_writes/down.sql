DROP INDEX IF EXISTS contacts_account_created;
DROP INDEX IF EXISTS contacts_account_phone;
DROP INDEX IF EXISTS contacts_account_identifier_unique;
DROP INDEX IF EXISTS contacts_account_email_unique;
DROP INDEX IF EXISTS contacts_labels;
ALTER TABLE contacts DROP COLUMN IF EXISTS labels;
