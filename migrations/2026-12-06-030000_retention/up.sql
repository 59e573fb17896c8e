-- Issue 15 (retention): data that does not grow forever.

-- Per account: resolved conversations older than this many days are deleted with their
-- messages, attachments and files (NULL: kept for ever, the default).
ALTER TABLE accounts ADD COLUMN conversation_retention_days INTEGER
    CHECK (conversation_retention_days IS NULL OR conversation_retention_days BETWEEN 1 AND 36500);

-- The pruning job is one row of `jobs` (kind `retention_prune`), claimed with a lease like any
-- job, so one process runs it at a time; it moves its own `run_at` to the next round.
INSERT INTO jobs (kind, payload, max_attempts) VALUES ('retention_prune', '{}', 1000000);

-- The journal partitioned by day (UTC) of `received_at`, so pruning drops whole partitions.
-- The existing table becomes one partition (`whatsapp_events_legacy`, rows kept in place,
-- nothing copied) covering everything up to the end of the day of its newest row (at least
-- the end of today); `whatsapp_events_default` catches a row no daily partition covers yet
-- (switchboard_journal_partition moves such rows into the day's partition when it is made).
ALTER TABLE whatsapp_events RENAME TO whatsapp_events_legacy;
ALTER TABLE whatsapp_events_legacy DROP CONSTRAINT whatsapp_events_pkey;
ALTER TABLE whatsapp_events_legacy DROP CONSTRAINT IF EXISTS whatsapp_events_inbox_id_fkey;
DROP INDEX IF EXISTS whatsapp_events_due;

-- Same columns (with their defaults: the id keeps its sequence), by the partition key.
CREATE TABLE whatsapp_events (LIKE whatsapp_events_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY RANGE (received_at);
-- A partitioned table's keys must include the partition key; ids still come from one sequence.
ALTER TABLE whatsapp_events ADD PRIMARY KEY (id, received_at);
ALTER TABLE whatsapp_events ADD CONSTRAINT whatsapp_events_inbox_id_fkey
    FOREIGN KEY (inbox_id) REFERENCES inboxes(id) ON DELETE SET NULL;
CREATE INDEX whatsapp_events_due ON whatsapp_events (run_after, id) WHERE status = 'pending';
ALTER SEQUENCE whatsapp_events_id_seq OWNED BY whatsapp_events.id;

CREATE TABLE whatsapp_events_default PARTITION OF whatsapp_events DEFAULT;

DO $$
DECLARE
    bound TIMESTAMPTZ;
BEGIN
    SELECT GREATEST(
               date_trunc('day', max(received_at) AT TIME ZONE 'UTC') + interval '1 day',
               date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day'
           ) AT TIME ZONE 'UTC'
      INTO bound FROM whatsapp_events_legacy;
    IF EXISTS (SELECT 1 FROM whatsapp_events_legacy) THEN
        EXECUTE format(
            'ALTER TABLE whatsapp_events ATTACH PARTITION whatsapp_events_legacy '
            'FOR VALUES FROM (MINVALUE) TO (%L)', bound);
    ELSE
        DROP TABLE whatsapp_events_legacy;
    END IF;
END $$;

-- Makes the partition of `day` (UTC) unless one exists or the day is already covered (by the
-- legacy partition): creates it apart, moves the day's rows out of the default partition into
-- it, and attaches it, in the caller's transaction. Returns true when it made one.
CREATE FUNCTION switchboard_journal_partition(day DATE) RETURNS BOOLEAN
LANGUAGE plpgsql AS $$
DECLARE
    part TEXT := 'whatsapp_events_' || to_char(day, 'YYYYMMDD');
    lo TIMESTAMPTZ := day::timestamp AT TIME ZONE 'UTC';
    hi TIMESTAMPTZ := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN FALSE;
    END IF;
    IF lo < switchboard_journal_upper_bound(to_regclass('whatsapp_events_legacy')) THEN
        RETURN FALSE;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE whatsapp_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
    EXECUTE format(
        'WITH moved AS (DELETE FROM whatsapp_events_default '
        'WHERE received_at >= $1 AND received_at < $2 RETURNING *) '
        'INSERT INTO %I SELECT * FROM moved', part) USING lo, hi;
    EXECUTE format('ALTER TABLE whatsapp_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
        part, lo, hi);
    RETURN TRUE;
END $$;

-- The exclusive upper bound of a partition of `whatsapp_events` (NULL for the default one).
CREATE FUNCTION switchboard_journal_upper_bound(part REGCLASS) RETURNS TIMESTAMPTZ
LANGUAGE sql STABLE AS $$
    SELECT (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz
    FROM pg_class c WHERE c.oid = part
$$;

-- Today and the next week (UTC).
SELECT switchboard_journal_partition((now() AT TIME ZONE 'UTC')::date + d) FROM generate_series(0, 7) AS d;

-- What the pruning batches look up, oldest first.
CREATE INDEX notifications_created_at ON notifications (created_at);
CREATE INDEX pending_message_updates_created_at ON pending_message_updates (created_at);
CREATE INDEX messages_failed_created_at ON messages (created_at) WHERE status = 'failed';
