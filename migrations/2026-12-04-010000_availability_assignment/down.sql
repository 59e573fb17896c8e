DROP TABLE assignment_queue;
DROP TABLE inbox_auto_assignment;
DROP INDEX account_users_presence_due;
ALTER TABLE account_users
  DROP COLUMN away_from,
  DROP COLUMN presence_expires_at,
  DROP COLUMN last_seen_online_at,
  DROP COLUMN auto_offline;
