DROP INDEX IF EXISTS contacts_account_username;
