DROP TABLE IF EXISTS jobs, whatsapp_events, pending_message_updates, attachments, messages, conversations, teams, contact_inboxes, contacts, inbox_members, inboxes, channel_whatsapp, account_users, users, accounts CASCADE;
DROP FUNCTION IF EXISTS conversations_set_display_id, accounts_create_display_id_sequence;
