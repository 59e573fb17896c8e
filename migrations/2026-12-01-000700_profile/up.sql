-- The agent's profile (issue 10): Chatwoot's display name and avatar, per-account availability,
-- a session epoch that signs out other sessions after a password change, and the forgot-password
-- request log that rate-limits requests per address and per IP across processes.
ALTER TABLE users
  ADD COLUMN display_name TEXT,
  ADD COLUMN avatar_path TEXT,
  ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;

ALTER TABLE account_users
  ADD COLUMN availability TEXT NOT NULL DEFAULT 'online'
    CHECK (availability IN ('online', 'busy', 'offline'));

CREATE TABLE password_reset_requests (
  id BIGSERIAL PRIMARY KEY,
  email_digest TEXT NOT NULL,
  ip TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX password_reset_requests_email ON password_reset_requests (email_digest, created_at);
CREATE INDEX password_reset_requests_ip ON password_reset_requests (ip, created_at);
