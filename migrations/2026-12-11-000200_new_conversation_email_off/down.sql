ALTER TABLE notification_settings ALTER COLUMN email_conversation_created SET DEFAULT TRUE;
