-- Issue 14 (reports, speed): monthly histograms of the durations (first response,
-- resolution, reply time), so the median and 90th percentile of a long range are read from
-- a few thousand rows instead of sorting every fact. See src/domain/reports/times.rs.
--
-- A bucket id is class * 1000 + log index: class is Chatwoot's distribution bucket (0: under
-- 1 h, 1: 1-4 h, 2: 4-8 h, 3: 8-24 h, 4: 24 h and more) so the distribution stays exact; the
-- log index is 0 for values under 1 s, else 1 + floor(ln(v) / ln(1.04)), so every bucket
-- spans at most 4% (a value read from it is within 2% of the true one).
CREATE FUNCTION reporting_bucket(v DOUBLE PRECISION) RETURNS SMALLINT AS $$
    SELECT ((CASE WHEN v < 3600 THEN 0 WHEN v < 14400 THEN 1 WHEN v < 28800 THEN 2
                  WHEN v < 86400 THEN 3 ELSE 4 END) * 1000
            + CASE WHEN v < 1 THEN 0 ELSE least(999, 1 + floor(ln(v) / ln(1.04))::int) END)::int2
$$ LANGUAGE sql IMMUTABLE PARALLEL SAFE;

-- grain 0: per inbox; 1: per inbox and agent (dim_id = user, 0 none); 2: per inbox and team.
-- bh: the value counting business hours only (value_in_business_hours). month: UTC.
CREATE TABLE reporting_time_monthly (
    account_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    grain SMALLINT NOT NULL,
    month DATE NOT NULL,
    inbox_id BIGINT NOT NULL DEFAULT 0,
    dim_id BIGINT NOT NULL DEFAULT 0,
    bh BOOLEAN NOT NULL,
    bucket SMALLINT NOT NULL,
    count BIGINT NOT NULL DEFAULT 0,
    sum_value DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, grain, bh, name, month, inbox_id, dim_id, bucket)
);

-- The same per label the conversation carries now (moved with reporting_label_move).
CREATE TABLE reporting_label_time_monthly (
    account_id BIGINT NOT NULL,
    label TEXT NOT NULL,
    bh BOOLEAN NOT NULL,
    name TEXT NOT NULL,
    month DATE NOT NULL,
    inbox_id BIGINT NOT NULL DEFAULT 0,
    bucket SMALLINT NOT NULL,
    count BIGINT NOT NULL DEFAULT 0,
    sum_value DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, label, bh, name, month, inbox_id, bucket)
);

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
    INSERT INTO reporting_label_time_monthly AS u
        (account_id, label, bh, name, month, inbox_id, bucket, count, sum_value)
    SELECT e.account_id, lbl, b.bh, e.name,
           date_trunc('month', e.event_end_time AT TIME ZONE 'UTC')::date,
           COALESCE(e.inbox_id, 0), reporting_bucket(b.v), sign * count(*), sign * sum(b.v)
    FROM reporting_events e
    CROSS JOIN LATERAL (VALUES (false, COALESCE(e.value, 0)),
                               (true, COALESCE(e.value_in_business_hours, 0))) AS b(bh, v)
    WHERE e.conversation_id = conv
      AND e.name IN ('first_response', 'conversation_resolved', 'reply_time')
      AND NOT EXISTS (SELECT 1 FROM reporting_pending p WHERE p.fact_id = e.id)
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (account_id, label, bh, name, month, inbox_id, bucket) DO UPDATE
        SET count = u.count + EXCLUDED.count, sum_value = u.sum_value + EXCLUDED.sum_value;
END
$$ LANGUAGE plpgsql;

-- A label change and a fold of the same conversation's facts no longer race (the gap the
-- previous migration documented: a fold in flight when labels changed left its facts under
-- the old labels). The label trigger takes an exclusive advisory lock on the conversation
-- before it moves folded facts; a fold first claims, in a statement of its own, only the
-- pending facts whose conversation it can lock shared without waiting, then folds them in a
-- second statement (a new snapshot). Either the fold holds the lock first (the label change
-- waits, then moves what the fold added) or the change does (the fold leaves that
-- conversation's facts pending until it commits, then folds them under the new labels).
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

-- Fills the monthly histograms of one account from its facts (the rest of its rollups by
-- reporting_rebuild_rollups). Returns the number of duration facts.
CREATE FUNCTION reporting_rebuild_time_rollups(acc BIGINT) RETURNS BIGINT AS $$
DECLARE
    n BIGINT;
BEGIN
    DELETE FROM reporting_time_monthly WHERE account_id = acc;
    DELETE FROM reporting_label_time_monthly WHERE account_id = acc;
    INSERT INTO reporting_time_monthly
        (account_id, name, grain, month, inbox_id, dim_id, bh, bucket, count, sum_value)
    SELECT e.account_id, e.name, g.grain, date_trunc('month', e.event_end_time AT TIME ZONE 'UTC')::date,
           COALESCE(e.inbox_id, 0),
           CASE g.grain WHEN 0 THEN 0 WHEN 1 THEN COALESCE(e.user_id, 0) ELSE COALESCE(e.team_id, 0) END,
           b.bh, reporting_bucket(b.v), count(*), sum(b.v)
    FROM reporting_events e CROSS JOIN (VALUES (0::int2), (1::int2), (2::int2)) AS g(grain)
    CROSS JOIN LATERAL (VALUES (false, COALESCE(e.value, 0)),
                               (true, COALESCE(e.value_in_business_hours, 0))) AS b(bh, v)
    WHERE e.account_id = acc AND e.name IN ('first_response', 'conversation_resolved', 'reply_time')
      AND NOT EXISTS (SELECT 1 FROM reporting_pending p WHERE p.fact_id = e.id)
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
    INSERT INTO reporting_label_time_monthly
        (account_id, label, bh, name, month, inbox_id, bucket, count, sum_value)
    SELECT e.account_id, l.label, b.bh, e.name,
           date_trunc('month', e.event_end_time AT TIME ZONE 'UTC')::date, COALESCE(e.inbox_id, 0),
           reporting_bucket(b.v), count(*), sum(b.v)
    FROM reporting_events e JOIN conversations c ON c.id = e.conversation_id
    CROSS JOIN LATERAL (SELECT DISTINCT unnest(c.labels) AS label) l
    CROSS JOIN LATERAL (VALUES (false, COALESCE(e.value, 0)),
                               (true, COALESCE(e.value_in_business_hours, 0))) AS b(bh, v)
    WHERE e.account_id = acc AND e.name IN ('first_response', 'conversation_resolved', 'reply_time')
      AND NOT EXISTS (SELECT 1 FROM reporting_pending p WHERE p.fact_id = e.id)
    GROUP BY 1, 2, 3, 4, 5, 6, 7;
    SELECT count(*) INTO n FROM reporting_events
    WHERE account_id = acc AND name IN ('first_response', 'conversation_resolved', 'reply_time');
    RETURN n;
END
$$ LANGUAGE plpgsql;

-- Every rebuild now fills the histograms too.
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
    PERFORM reporting_rebuild_time_rollups(acc);
    SELECT count(*) INTO n FROM reporting_events WHERE account_id = acc;
    RETURN n;
END
$$ LANGUAGE plpgsql;

SELECT reporting_rebuild_time_rollups(id) FROM accounts;
