-- Large deliveries are ingested in bounded units of work: how many of an event's items
-- (messages, statuses, …; see src/whatsapp/ingest.rs) are already committed. A unit's
-- writes and this counter commit together, so a crash resumes after the last unit.
ALTER TABLE whatsapp_events ADD COLUMN items_done INTEGER NOT NULL DEFAULT 0;
-- The ingest claim takes due events by (run_after, id): an event that still has items left
-- goes to the back of the queue, behind deliveries that arrived meanwhile.
DROP INDEX whatsapp_events_pending;
CREATE INDEX whatsapp_events_due ON whatsapp_events (run_after, id) WHERE status = 'pending';
