DROP INDEX IF EXISTS contacts_account_activity;
DROP INDEX IF EXISTS contacts_account_created;
DROP INDEX IF EXISTS contacts_account_name_sort;
DROP INDEX IF EXISTS contacts_search_doc_trgm;
ALTER TABLE contacts DROP COLUMN IF EXISTS search_doc;
DROP FUNCTION IF EXISTS switchboard_contact_doc(TEXT, TEXT, TEXT, TEXT, TEXT, TEXT);
-- The labels column and its index stay: contacts-api's migration owns them.
