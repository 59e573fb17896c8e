DROP TABLE password_reset_requests;
ALTER TABLE account_users DROP COLUMN availability;
ALTER TABLE users DROP COLUMN session_epoch, DROP COLUMN avatar_path, DROP COLUMN display_name;
