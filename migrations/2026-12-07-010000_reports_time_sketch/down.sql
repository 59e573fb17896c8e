-- Back to the functions of 2026-12-06-010000_reports_daily.
SELECT reporting_fold(2147483647);
CREATE OR REPLACE FUNCTION reporting_rebuild_rollups(acc BIGINT) RETURNS BIGINT AS $$
DECLARE
    n BIGINT;
BEGIN
    DELETE FROM reporting_pending WHERE account_id = acc;
    DELETE FROM reporting_rollups WHERE account_id = acc;
    DELETE FROM reporting_daily WHERE account_id = acc;
    DELETE FROM reporting_label_daily WHERE account_id = acc;
    DELETE FROM reporting_label_hourly WHERE account_id = acc;
    INSERT INTO reporting_rollups (account_id, hour, name, inbox_id, team_id, user_id, count, sum_value, sum_value_bh)
    SELECT account_id, date_trunc('hour', event_end_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', name,
           COALESCE(inbox_id, 0), COALESCE(team_id, 0), COALESCE(user_id, 0), count(*),
           COALESCE(sum(value), 0), COALESCE(sum(value_in_business_hours), 0)
    FROM reporting_events WHERE account_id = acc GROUP BY 1, 2, 3, 4, 5, 6;
    INSERT INTO reporting_daily (account_id, name, grain, day, inbox_id, dim_id, count, sum_value, sum_value_bh)
    SELECT account_id, name, g.grain, (event_end_time AT TIME ZONE 'UTC')::date, COALESCE(inbox_id, 0),
           CASE g.grain WHEN 0 THEN 0 WHEN 1 THEN COALESCE(user_id, 0) ELSE COALESCE(team_id, 0) END,
           count(*), COALESCE(sum(value), 0), COALESCE(sum(value_in_business_hours), 0)
    FROM reporting_events CROSS JOIN (VALUES (0::int2), (1::int2), (2::int2)) AS g(grain)
    WHERE account_id = acc GROUP BY 1, 2, 3, 4, 5, 6;
    INSERT INTO reporting_label_hourly (account_id, name, hour, label, inbox_id, count, sum_value, sum_value_bh)
    SELECT e.account_id, e.name, date_trunc('hour', e.event_end_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
           l.label, COALESCE(e.inbox_id, 0), count(*), COALESCE(sum(e.value), 0),
           COALESCE(sum(e.value_in_business_hours), 0)
    FROM reporting_events e JOIN conversations c ON c.id = e.conversation_id
    CROSS JOIN LATERAL (SELECT DISTINCT unnest(c.labels) AS label) l
    WHERE e.account_id = acc GROUP BY 1, 2, 3, 4, 5;
    INSERT INTO reporting_label_daily (account_id, name, day, label, inbox_id, count, sum_value, sum_value_bh)
    SELECT account_id, name, (hour AT TIME ZONE 'UTC')::date, label, inbox_id, sum(count),
           sum(sum_value), sum(sum_value_bh)
    FROM reporting_label_hourly WHERE account_id = acc GROUP BY 1, 2, 3, 4, 5;
    SELECT count(*) INTO n FROM reporting_events WHERE account_id = acc;
    RETURN n;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION reporting_fold(max_rows INT) RETURNS INT AS $$
DECLARE
    n INT;
BEGIN
    WITH d AS (
        DELETE FROM reporting_pending WHERE id IN (
            SELECT id FROM reporting_pending ORDER BY id LIMIT max_rows FOR UPDATE SKIP LOCKED)
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
    )
    SELECT count(*) INTO n FROM d;
    RETURN n;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION reporting_label_move(conv BIGINT, lbl TEXT, sign INT) RETURNS void AS $$
BEGIN
    INSERT INTO reporting_label_hourly AS u
        (account_id, name, hour, label, inbox_id, count, sum_value, sum_value_bh)
    SELECT account_id, name, date_trunc('hour', event_end_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
           lbl, COALESCE(inbox_id, 0), sign * count(*), sign * COALESCE(sum(value), 0),
           sign * COALESCE(sum(value_in_business_hours), 0)
    FROM reporting_events e WHERE conversation_id = conv
      AND NOT EXISTS (SELECT 1 FROM reporting_pending p WHERE p.fact_id = e.id)
    GROUP BY 1, 2, 3, 5
    ON CONFLICT (account_id, name, hour, label, inbox_id) DO UPDATE
        SET count = u.count + EXCLUDED.count, sum_value = u.sum_value + EXCLUDED.sum_value,
            sum_value_bh = u.sum_value_bh + EXCLUDED.sum_value_bh;
    INSERT INTO reporting_label_daily AS u
        (account_id, name, day, label, inbox_id, count, sum_value, sum_value_bh)
    SELECT account_id, name, (event_end_time AT TIME ZONE 'UTC')::date,
           lbl, COALESCE(inbox_id, 0), sign * count(*), sign * COALESCE(sum(value), 0),
           sign * COALESCE(sum(value_in_business_hours), 0)
    FROM reporting_events e WHERE conversation_id = conv
      AND NOT EXISTS (SELECT 1 FROM reporting_pending p WHERE p.fact_id = e.id)
    GROUP BY 1, 2, 3, 5
    ON CONFLICT (account_id, name, day, label, inbox_id) DO UPDATE
        SET count = u.count + EXCLUDED.count, sum_value = u.sum_value + EXCLUDED.sum_value,
            sum_value_bh = u.sum_value_bh + EXCLUDED.sum_value_bh;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION reporting_labels_changed() RETURNS trigger AS $$
DECLARE
    l TEXT;
BEGIN
    FOR l IN SELECT DISTINCT x FROM unnest(OLD.labels) x WHERE NOT x = ANY(NEW.labels) LOOP
        PERFORM reporting_label_move(NEW.id, l, -1);
    END LOOP;
    FOR l IN SELECT DISTINCT x FROM unnest(NEW.labels) x WHERE NOT x = ANY(OLD.labels) LOOP
        PERFORM reporting_label_move(NEW.id, l, 1);
    END LOOP;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

DROP FUNCTION reporting_rebuild_time_rollups(BIGINT);
DROP TABLE reporting_label_time_monthly;
DROP TABLE reporting_time_monthly;
DROP FUNCTION reporting_bucket(DOUBLE PRECISION);
