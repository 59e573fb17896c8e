DROP INDEX IF EXISTS contacts_account_activity;
DROP INDEX IF EXISTS contacts_account_created;
DROP INDEX IF EXISTS contacts_account_name_sort;
DROP INDEX IF EXISTS contacts_doc_trgm;
DROP FUNCTION IF EXISTS switchboard_contact_doc(TEXT, TEXT, TEXT, TEXT, TEXT, TEXT);
-- The labels column and its index stay: contacts-api's migration owns them.
