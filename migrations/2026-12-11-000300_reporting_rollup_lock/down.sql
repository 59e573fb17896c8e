-- The definitions of 2026-12-07-010000_reports_time_sketch.
CREATE OR REPLACE FUNCTION reporting_labels_changed() RETURNS trigger AS $$
DECLARE
    l TEXT;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('reporting_labels:' || NEW.id, 0));
    FOR l IN SELECT DISTINCT x FROM unnest(OLD.labels) x WHERE NOT x = ANY(NEW.labels) LOOP
        PERFORM reporting_label_move(NEW.id, l, -1);
    END LOOP;
    FOR l IN SELECT DISTINCT x FROM unnest(NEW.labels) x WHERE NOT x = ANY(OLD.labels) LOOP
        PERFORM reporting_label_move(NEW.id, l, 1);
    END LOOP;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION reporting_fold(max_rows INT) RETURNS INT AS $$
DECLARE
    n INT;
    ids BIGINT[];
BEGIN
    SELECT array_agg(c.id) INTO ids FROM (
        SELECT id, conversation_id FROM reporting_pending ORDER BY id LIMIT max_rows
        FOR UPDATE SKIP LOCKED) c
    WHERE c.conversation_id IS NULL
       OR pg_try_advisory_xact_lock_shared(hashtextextended('reporting_labels:' || c.conversation_id, 0));
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    WITH d AS (
        DELETE FROM reporting_pending WHERE id = ANY(ids)
        RETURNING *
    ), h AS (
        INSERT INTO reporting_rollups AS u
            (account_id, hour, name, inbox_id, team_id, user_id, count, sum_value, sum_value_bh)
        SELECT account_id, date_trunc('hour', event_end_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
               name, inbox_id, team_id, user_id, sum(sign), sum(sign * value), sum(sign * value_bh)
        FROM d GROUP BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (account_id, name, hour, inbox_id, team_id, user_id) DO UPDATE
            SET count = u.count + EXCLUDED.count, sum_value = u.sum_value + EXCLUDED.sum_value,
                sum_value_bh = u.sum_value_bh + EXCLUDED.sum_value_bh
        RETURNING 1
    ), dd AS (
        INSERT INTO reporting_daily AS u
            (account_id, name, grain, day, inbox_id, dim_id, count, sum_value, sum_value_bh)
        SELECT account_id, name, g.grain, (event_end_time AT TIME ZONE 'UTC')::date, inbox_id,
               CASE g.grain WHEN 0 THEN 0 WHEN 1 THEN user_id ELSE team_id END,
               sum(sign), sum(sign * value), sum(sign * value_bh)
        FROM d CROSS JOIN (VALUES (0::int2), (1::int2), (2::int2)) AS g(grain)
        GROUP BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (account_id, name, grain, day, inbox_id, dim_id) DO UPDATE
            SET count = u.count + EXCLUDED.count, sum_value = u.sum_value + EXCLUDED.sum_value,
                sum_value_bh = u.sum_value_bh + EXCLUDED.sum_value_bh
        RETURNING 1
    ), tm AS (
        INSERT INTO reporting_time_monthly AS u
            (account_id, name, grain, month, inbox_id, dim_id, bh, bucket, count, sum_value)
        SELECT d.account_id, d.name, g.grain,
               date_trunc('month', d.event_end_time AT TIME ZONE 'UTC')::date, d.inbox_id,
               CASE g.grain WHEN 0 THEN 0 WHEN 1 THEN d.user_id ELSE d.team_id END,
               b.bh, reporting_bucket(b.v), sum(d.sign), sum(d.sign * b.v)
        FROM d CROSS JOIN (VALUES (0::int2), (1::int2), (2::int2)) AS g(grain)
        CROSS JOIN LATERAL (VALUES (false, d.value), (true, d.value_bh)) AS b(bh, v)
        WHERE d.name IN ('first_response', 'conversation_resolved', 'reply_time')
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        ON CONFLICT (account_id, grain, bh, name, month, inbox_id, dim_id, bucket) DO UPDATE
            SET count = u.count + EXCLUDED.count, sum_value = u.sum_value + EXCLUDED.sum_value
        RETURNING 1
    ), dl AS (
        SELECT d.*, l.label FROM d JOIN conversations c ON c.id = d.conversation_id
        CROSS JOIN LATERAL (SELECT DISTINCT unnest(c.labels) AS label) l
    ), lh AS (
        INSERT INTO reporting_label_hourly AS u
            (account_id, name, hour, label, inbox_id, count, sum_value, sum_value_bh)
        SELECT account_id, name, date_trunc('hour', event_end_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
               label, inbox_id, sum(sign), sum(sign * value), sum(sign * value_bh)
        FROM dl GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (account_id, name, hour, label, inbox_id) DO UPDATE
            SET count = u.count + EXCLUDED.count, sum_value = u.sum_value + EXCLUDED.sum_value,
                sum_value_bh = u.sum_value_bh + EXCLUDED.sum_value_bh
        RETURNING 1
    ), ld AS (
        INSERT INTO reporting_label_daily AS u
            (account_id, name, day, label, inbox_id, count, sum_value, sum_value_bh)
        SELECT account_id, name, (event_end_time AT TIME ZONE 'UTC')::date, label, inbox_id,
               sum(sign), sum(sign * value), sum(sign * value_bh)
        FROM dl GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (account_id, name, day, label, inbox_id) DO UPDATE
            SET count = u.count + EXCLUDED.count, sum_value = u.sum_value + EXCLUDED.sum_value,
                sum_value_bh = u.sum_value_bh + EXCLUDED.sum_value_bh
        RETURNING 1
    ), lt AS (
        INSERT INTO reporting_label_time_monthly AS u
            (account_id, label, bh, name, month, inbox_id, bucket, count, sum_value)
        SELECT dl.account_id, dl.label, b.bh, dl.name,
               date_trunc('month', dl.event_end_time AT TIME ZONE 'UTC')::date, dl.inbox_id,
               reporting_bucket(b.v), sum(dl.sign), sum(dl.sign * b.v)
        FROM dl CROSS JOIN LATERAL (VALUES (false, dl.value), (true, dl.value_bh)) AS b(bh, v)
        WHERE dl.name IN ('first_response', 'conversation_resolved', 'reply_time')
        GROUP BY 1, 2, 3, 4, 5, 6, 7
        ON CONFLICT (account_id, label, bh, name, month, inbox_id, bucket) DO UPDATE
            SET count = u.count + EXCLUDED.count, sum_value = u.sum_value + EXCLUDED.sum_value
        RETURNING 1
    )
    SELECT count(*) INTO n FROM d;
    RETURN n;
END
$$ LANGUAGE plpgsql;
