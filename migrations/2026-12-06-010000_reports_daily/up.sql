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
    FROM reporting_events WHERE conversation_id = conv GROUP BY 1, 2, 3, 5
    ON CONFLICT (account_id, name, hour, label, inbox_id) DO UPDATE
        SET count = u.count + EXCLUDED.count, sum_value = u.sum_value + EXCLUDED.sum_value,
            sum_value_bh = u.sum_value_bh + EXCLUDED.sum_value_bh;
    INSERT INTO reporting_label_daily AS u
        (account_id, name, day, label, inbox_id, count, sum_value, sum_value_bh)
    SELECT account_id, name, (event_end_time AT TIME ZONE 'UTC')::date,
           lbl, COALESCE(inbox_id, 0), sign * count(*), sign * COALESCE(sum(value), 0),
           sign * COALESCE(sum(value_in_business_hours), 0)
    FROM reporting_events WHERE conversation_id = conv GROUP BY 1, 2, 3, 5
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

-- The fact trigger now keeps every rollup: hourly (all dimensions), daily at three grains,
-- and the labels of the fact's conversation.
CREATE OR REPLACE FUNCTION reporting_rollup() RETURNS trigger AS $$
DECLARE
    r reporting_events;
    sign INT;
    d DATE;
    h TIMESTAMPTZ;
    v DOUBLE PRECISION;
    vb DOUBLE PRECISION;
    labels TEXT[];
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; sign := -1; ELSE r := NEW; sign := 1; END IF;
    h := date_trunc('hour', r.event_end_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    d := (r.event_end_time AT TIME ZONE 'UTC')::date;
    v := sign * COALESCE(r.value, 0);
    vb := sign * COALESCE(r.value_in_business_hours, 0);
    INSERT INTO reporting_rollups AS u
        (account_id, hour, name, inbox_id, team_id, user_id, count, sum_value, sum_value_bh)
    VALUES (r.account_id, h, r.name, COALESCE(r.inbox_id, 0), COALESCE(r.team_id, 0),
            COALESCE(r.user_id, 0), sign, v, vb)
    ON CONFLICT (account_id, name, hour, inbox_id, team_id, user_id) DO UPDATE
        SET count = u.count + EXCLUDED.count,
            sum_value = u.sum_value + EXCLUDED.sum_value,
            sum_value_bh = u.sum_value_bh + EXCLUDED.sum_value_bh;
    INSERT INTO reporting_daily AS u
        (account_id, name, grain, day, inbox_id, dim_id, count, sum_value, sum_value_bh)
    VALUES (r.account_id, r.name, 0, d, COALESCE(r.inbox_id, 0), 0, sign, v, vb),
           (r.account_id, r.name, 1, d, COALESCE(r.inbox_id, 0), COALESCE(r.user_id, 0), sign, v, vb),
           (r.account_id, r.name, 2, d, COALESCE(r.inbox_id, 0), COALESCE(r.team_id, 0), sign, v, vb)
    ON CONFLICT (account_id, name, grain, day, inbox_id, dim_id) DO UPDATE
        SET count = u.count + EXCLUDED.count,
            sum_value = u.sum_value + EXCLUDED.sum_value,
            sum_value_bh = u.sum_value_bh + EXCLUDED.sum_value_bh;
    IF r.conversation_id IS NOT NULL THEN
        SELECT c.labels INTO labels FROM conversations c WHERE c.id = r.conversation_id;
        IF labels IS NOT NULL AND labels <> '{}' THEN
            INSERT INTO reporting_label_hourly AS u
                (account_id, name, hour, label, inbox_id, count, sum_value, sum_value_bh)
            SELECT r.account_id, r.name, h, l, COALESCE(r.inbox_id, 0), sign, v, vb
            FROM (SELECT DISTINCT unnest(labels) AS l) x
            ON CONFLICT (account_id, name, hour, label, inbox_id) DO UPDATE
                SET count = u.count + EXCLUDED.count, sum_value = u.sum_value + EXCLUDED.sum_value,
                    sum_value_bh = u.sum_value_bh + EXCLUDED.sum_value_bh;
            INSERT INTO reporting_label_daily AS u
                (account_id, name, day, label, inbox_id, count, sum_value, sum_value_bh)
            SELECT r.account_id, r.name, d, l, COALESCE(r.inbox_id, 0), sign, v, vb
            FROM (SELECT DISTINCT unnest(labels) AS l) x
            ON CONFLICT (account_id, name, day, label, inbox_id) DO UPDATE
                SET count = u.count + EXCLUDED.count, sum_value = u.sum_value + EXCLUDED.sum_value,
                    sum_value_bh = u.sum_value_bh + EXCLUDED.sum_value_bh;
        END IF;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- Recomputes every rollup of one account from its facts (after a bulk load with the
-- trigger disabled, or a repair). Returns the number of facts.
CREATE FUNCTION reporting_rebuild_rollups(acc BIGINT) RETURNS BIGINT AS $$
DECLARE
    n BIGINT;
BEGIN
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
