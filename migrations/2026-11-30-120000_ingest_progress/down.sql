DROP INDEX whatsapp_events_due;
CREATE INDEX whatsapp_events_pending ON whatsapp_events (id) WHERE status = 'pending';
ALTER TABLE whatsapp_events DROP COLUMN items_done;
