DROP TABLE custom_filters;
DROP INDEX conversations_account_waiting;
DROP INDEX conversations_account_created;
ALTER TABLE conversations DROP COLUMN waiting_since;
