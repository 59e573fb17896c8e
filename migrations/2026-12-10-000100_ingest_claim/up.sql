-- Issue 15 (ingest): an ingest unit claims its journal events with one call. The first due
-- event (any size), then, when it is at most `small_bytes`, up to `max_events - 1` more small
-- ones, oldest `run_after` first, each row locked FOR UPDATE SKIP LOCKED. Returns the rows
-- claimed as (id, received_at), first one first (received_at is the partition key: reading
-- them back by both keeps to their partitions).
--
-- Why a function: the claim must walk the due index (`whatsapp_events_due`) to its LIMIT.
-- The planner estimates the pending rows from statistics that never describe a backlog (a new
-- day's partition has none; an analysed one saw few pending rows), so it read and sorted
-- every pending event for each unit (6 ms a claim with 20,000 waiting, growing with the
-- backlog, measured with auto_explain under scripts/bench-ingest). The function's own
-- settings rule out the bitmap scan and the sort for its two statements only.
CREATE FUNCTION switchboard_claim_events(max_events integer, small_bytes integer)
RETURNS TABLE (id bigint, received_at timestamptz)
LANGUAGE plpgsql
SET enable_sort = off
SET enable_bitmapscan = off
AS $$
DECLARE
    first_id bigint;
    first_received timestamptz;
    first_bytes integer;
BEGIN
    SELECT e.id, e.received_at, octet_length(e.raw_body) INTO first_id, first_received, first_bytes
    FROM whatsapp_events e
    WHERE e.status = 'pending' AND e.run_after <= now()
    ORDER BY e.run_after, e.id
    LIMIT 1
    FOR UPDATE SKIP LOCKED;
    IF first_id IS NULL THEN
        RETURN;
    END IF;
    id := first_id;
    received_at := first_received;
    RETURN NEXT;
    IF max_events > 1 AND first_bytes <= small_bytes THEN
        -- Others before the first in the order are locked by other units (skipped) or became
        -- due since (fair to take).
        RETURN QUERY
        SELECT e.id, e.received_at
        FROM whatsapp_events e
        WHERE e.status = 'pending' AND e.run_after <= now() AND e.id <> first_id
          AND octet_length(e.raw_body) <= small_bytes
        ORDER BY e.run_after, e.id
        LIMIT max_events - 1
        FOR UPDATE SKIP LOCKED;
    END IF;
END
$$;
