ALTER TABLE messages
    ADD CONSTRAINT messages_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id) ON DELETE CASCADE,
    ADD CONSTRAINT messages_inbox_id_fkey FOREIGN KEY (inbox_id) REFERENCES inboxes(id) ON DELETE CASCADE;
ALTER TABLE conversations
    ADD CONSTRAINT conversations_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id) ON DELETE CASCADE;
ALTER TABLE attachments
    ADD CONSTRAINT attachments_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id) ON DELETE CASCADE;
ALTER TABLE assignment_queue
    ADD CONSTRAINT assignment_queue_inbox_id_fkey FOREIGN KEY (inbox_id) REFERENCES inboxes(id) ON DELETE CASCADE;
DELETE FROM realtime_events e WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = e.account_id)
    OR (e.inbox_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM inboxes i WHERE i.id = e.inbox_id));
ALTER TABLE realtime_events
    ADD CONSTRAINT realtime_events_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id) ON DELETE CASCADE,
    ADD CONSTRAINT realtime_events_inbox_id_fkey FOREIGN KEY (inbox_id) REFERENCES inboxes(id) ON DELETE CASCADE;
