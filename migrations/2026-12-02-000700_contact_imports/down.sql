DROP INDEX IF EXISTS contacts_account_bsuid;
DROP INDEX IF EXISTS contacts_account_phone;
DROP INDEX IF EXISTS contacts_account_email;
DROP INDEX IF EXISTS contacts_account_identifier;
DROP TABLE IF EXISTS contact_import_errors;
DROP TABLE IF EXISTS contact_imports;
