ALTER TABLE notification_settings
    DROP COLUMN IF EXISTS email_conversation_mention,
    DROP COLUMN IF EXISTS email_assigned_conversation_new_message,
    DROP COLUMN IF EXISTS email_participating_conversation_new_message;
DROP TABLE IF EXISTS team_members;
DROP TABLE IF EXISTS conversation_participants;
DROP TABLE IF EXISTS notifications;
