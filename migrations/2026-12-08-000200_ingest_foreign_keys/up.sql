-- Issue 15 (ingest that keeps up): foreign keys that only repeat another one's guarantee.
-- Every foreign key costs each inserted row a lookup of its parent and a FOR KEY SHARE lock
-- on it; on the ingest path the parents are the one account row and the one inbox row that
-- every worker's inserts lock at once (each lock a multixact once two transactions hold
-- it). A new customer's message paid about 18 such checks; these are redundant because the
-- column is copied from a parent that already cascades:
--   messages.account_id, messages.inbox_id       -- conversation_id cascades (and the
--                                                    conversation's inbox and account do)
--   conversations.account_id                     -- inbox_id cascades, inboxes cascade
--                                                    from accounts
--   attachments.account_id                       -- message_id cascades
--   assignment_queue.inbox_id                    -- conversation_id cascades
-- realtime_events (kept 24 hours for replay) name an account and an inbox without a foreign
-- key from now on: domain::inboxes::delete removes the deleted inbox's events itself.
-- The application writes these columns from the parent row it just read or created.
ALTER TABLE messages DROP CONSTRAINT IF EXISTS messages_account_id_fkey,
                     DROP CONSTRAINT IF EXISTS messages_inbox_id_fkey;
ALTER TABLE conversations DROP CONSTRAINT IF EXISTS conversations_account_id_fkey;
ALTER TABLE attachments DROP CONSTRAINT IF EXISTS attachments_account_id_fkey;
ALTER TABLE assignment_queue DROP CONSTRAINT IF EXISTS assignment_queue_inbox_id_fkey;
ALTER TABLE realtime_events DROP CONSTRAINT IF EXISTS realtime_events_account_id_fkey,
                            DROP CONSTRAINT IF EXISTS realtime_events_inbox_id_fkey;
