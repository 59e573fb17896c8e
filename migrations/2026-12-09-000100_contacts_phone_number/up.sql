-- Issue 15 (ingest): the adoption lookups (`domain::contacts::BY_PHONE`) find a phone
-- number's contacts by the number alone and keep the account's afterwards, so the plan
-- does not depend on the account's statistics (a new account, absent from them, was
-- estimated at one row and its contacts scanned by `contacts_account`). The phone number
-- leads this index; it replaces (account_id, phone_number), whose lookups it serves as well
-- (a number is held by one contact or a few, in any account), so inserts keep the same
-- number of indexes.
CREATE INDEX contacts_phone_number ON contacts (phone_number) WHERE phone_number IS NOT NULL;
DROP INDEX IF EXISTS contacts_account_phone;
