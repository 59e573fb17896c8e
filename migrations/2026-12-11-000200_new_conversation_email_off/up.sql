-- "Email me when a new conversation starts in one of my inboxes" is off by default, as in
-- Chatwoot (a new agent is emailed on assignment only). Rows already stored keep what they
-- hold; agents without a row get the new default (`notifications::Settings::default`).
ALTER TABLE notification_settings ALTER COLUMN email_conversation_created SET DEFAULT FALSE;
