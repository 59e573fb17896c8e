DROP INDEX IF EXISTS notifications_created_at;
DROP INDEX IF EXISTS pending_message_updates_created_at;
DROP INDEX IF EXISTS messages_failed_created_at;
-- Back to one plain table holding every row.
CREATE TABLE whatsapp_events_plain (LIKE whatsapp_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
INSERT INTO whatsapp_events_plain SELECT * FROM whatsapp_events;
ALTER SEQUENCE whatsapp_events_id_seq OWNED BY NONE;
DROP TABLE whatsapp_events CASCADE;
DROP FUNCTION switchboard_journal_partition(DATE);
DROP FUNCTION switchboard_journal_upper_bound(REGCLASS);
ALTER TABLE whatsapp_events_plain RENAME TO whatsapp_events;
ALTER TABLE whatsapp_events ADD PRIMARY KEY (id);
ALTER TABLE whatsapp_events ADD CONSTRAINT whatsapp_events_inbox_id_fkey
    FOREIGN KEY (inbox_id) REFERENCES inboxes(id) ON DELETE SET NULL;
CREATE INDEX whatsapp_events_due ON whatsapp_events (run_after, id) WHERE status = 'pending';
ALTER SEQUENCE whatsapp_events_id_seq OWNED BY whatsapp_events.id;

DELETE FROM jobs WHERE kind = 'retention_prune';
ALTER TABLE accounts DROP COLUMN conversation_retention_days;
