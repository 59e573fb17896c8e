CREATE INDEX IF NOT EXISTS contacts_account_phone ON contacts (account_id, phone_number) WHERE phone_number IS NOT NULL;
DROP INDEX IF EXISTS contacts_phone_number;
