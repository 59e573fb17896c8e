-- h11: the CSV import matches a row to an existing contact by its WhatsApp username too (the
-- last key, after identifier, email, phone_number and bsuid), so re-importing an export does
-- not duplicate username-only contacts (chatwoot#15586). Partial: most contacts have none.
CREATE INDEX IF NOT EXISTS contacts_account_username ON contacts (account_id, username) WHERE username IS NOT NULL;
