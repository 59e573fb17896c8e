-- Issue 14 (reports, speed): daily rollups at three grains, label rollups, and the
-- customer-service-window state. See src/domain/reports/mod.rs ("How a range is summed").
--
-- Rows are keyed by UTC day / UTC hour. A range in any zone is summed exactly as whole UTC
-- days (reporting_daily), plus or minus the hours between each edge and its nearest UTC
-- midnight (reporting_rollups), plus or minus the facts themselves for any part of an hour
-- (reporting_events): at most a day row and two short hour runs per bucket.

-- Daily sums. grain 0: per inbox; 1: per inbox and agent (dim_id = user, 0 none); 2: per
-- inbox and team (dim_id = team, 0 none). Three grains instead of one row per
-- inbox x team x agent keep the account's and each breakdown's rows few.
CREATE TABLE reporting_daily (
    account_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    grain SMALLINT NOT NULL,
    day DATE NOT NULL,
    inbox_id BIGINT NOT NULL DEFAULT 0,
    dim_id BIGINT NOT NULL DEFAULT 0,
    count BIGINT NOT NULL DEFAULT 0,
    sum_value DOUBLE PRECISION NOT NULL DEFAULT 0,
    sum_value_bh DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, name, grain, day, inbox_id, dim_id)
);

-- Sums per label the conversation carries NOW (a label's figures are those of the
-- conversations carrying it, as Chatwoot): a label added or removed moves the
-- conversation's facts in or out (trigger on conversations below).
CREATE TABLE reporting_label_daily (
    account_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    day DATE NOT NULL,
    label TEXT NOT NULL,
    inbox_id BIGINT NOT NULL DEFAULT 0,
    count BIGINT NOT NULL DEFAULT 0,
    sum_value DOUBLE PRECISION NOT NULL DEFAULT 0,
    sum_value_bh DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, name, day, label, inbox_id)
);
CREATE TABLE reporting_label_hourly (
    account_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    hour TIMESTAMPTZ NOT NULL,
    label TEXT NOT NULL,
    inbox_id BIGINT NOT NULL DEFAULT 0,
    count BIGINT NOT NULL DEFAULT 0,
    sum_value DOUBLE PRECISION NOT NULL DEFAULT 0,
    sum_value_bh DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, name, hour, label, inbox_id)
);

-- Adds (sign 1) or removes (sign -1) the facts of `conv` to label `lbl`'s rollups.
CREATE FUNCTION reporting_label_move(conv BIGINT, lbl TEXT, sign INT) RETURNS void AS $$
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

CREATE FUNCTION reporting_labels_changed() RETURNS trigger AS $$
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

CREATE TRIGGER conversations_reporting_labels AFTER UPDATE OF labels ON conversations
    FOR EACH ROW WHEN (OLD.labels IS DISTINCT FROM NEW.labels)
    EXECUTE FUNCTION reporting_labels_changed();

-- Facts not yet added to the rollups. The fact trigger only appends here (no row of the
-- rollups is touched while ingesting, so concurrent writers never queue on the hot
-- rollup rows of the current hour and day); reporting_fold() moves them into every rollup
-- in one grouped upsert per rollup: the reports worker every second, and every report
-- before it reads (domain::reporting::fold), so figures stay exact.
CREATE TABLE reporting_pending (
    id BIGSERIAL PRIMARY KEY,
    fact_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    inbox_id BIGINT NOT NULL,
    team_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    conversation_id BIGINT,
    event_end_time TIMESTAMPTZ NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    value_bh DOUBLE PRECISION NOT NULL,
    sign INT NOT NULL
);
CREATE INDEX reporting_pending_fact ON reporting_pending (fact_id);

CREATE OR REPLACE FUNCTION reporting_rollup() RETURNS trigger AS $$
DECLARE
    r reporting_events;
    sign INT;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; sign := -1; ELSE r := NEW; sign := 1; END IF;
    INSERT INTO reporting_pending (fact_id, account_id, name, inbox_id, team_id, user_id,
        conversation_id, event_end_time, value, value_bh, sign)
    VALUES (r.id, r.account_id, r.name, COALESCE(r.inbox_id, 0), COALESCE(r.team_id, 0),
        COALESCE(r.user_id, 0), r.conversation_id, r.event_end_time, COALESCE(r.value, 0),
        COALESCE(r.value_in_business_hours, 0), sign);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- Moves up to max_rows pending facts (oldest first, SKIP LOCKED: several folders may run)
-- into every rollup; returns how many. Labels are those of the conversation at the fold.
CREATE FUNCTION reporting_fold(max_rows INT) RETURNS INT AS $$
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

-- Recomputes every rollup of one account from its facts (after a bulk load with the
-- trigger disabled, or a repair). Returns the number of facts.
CREATE FUNCTION reporting_rebuild_rollups(acc BIGINT) RETURNS BIGINT AS $$
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

SELECT reporting_rebuild_rollups(id) FROM accounts;

-- The 24-hour customer service window of each conversation: the customer's last message,
-- whether a human reply came inside its window, and the window already counted as closed
-- unanswered (domain::reporting::close_windows).
ALTER TABLE reporting_conversations
    ADD COLUMN last_incoming_at TIMESTAMPTZ,
    ADD COLUMN window_replied BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN window_closed_for TIMESTAMPTZ;
CREATE INDEX reporting_conversations_open_windows ON reporting_conversations (last_incoming_at)
    WHERE NOT window_replied AND last_incoming_at IS NOT NULL
      AND window_closed_for IS DISTINCT FROM last_incoming_at;
-- One closed-unanswered fact per window (its close time).
CREATE UNIQUE INDEX reporting_events_window_closed
    ON reporting_events (conversation_id, event_end_time) WHERE name = 'window_closed_unanswered';
-- Per-conversation export: a conversation's facts read from one index.
CREATE INDEX reporting_events_conversation_facts ON reporting_events (conversation_id)
    INCLUDE (name, value, value_in_business_hours, event_end_time);
DROP INDEX reporting_events_conversation;
-- Durations' medians and percentiles (reports::times) and the fact reads of range edges
-- answered from the index alone.
CREATE INDEX reporting_events_account_name_time_values
    ON reporting_events (account_id, name, event_end_time)
    INCLUDE (value, value_in_business_hours, inbox_id, user_id, team_id, conversation_id);
DROP INDEX reporting_events_account_name_time;
