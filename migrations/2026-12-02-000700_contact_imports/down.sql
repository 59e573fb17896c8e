DROP INDEX IF EXISTS contacts_account_bsuid;
-- contacts_account_phone, contacts.labels and contacts_labels are shared with the contact
-- write part (2026-12-02-000200) and stay.
DROP INDEX IF EXISTS contacts_account_email;
DROP INDEX IF EXISTS contacts_account_identifier;
DROP TABLE IF EXISTS contact_import_errors;
DROP TABLE IF EXISTS contact_imports;
