-- Speed of the agent workspace (issue 10): counts that are maintained instead of scanned,
-- and indexes for the list's assignee and label filters.
--
-- conversation_counts holds signed deltas of the number of conversations per
-- (account, inbox, status, assignee, label): label '' counts every conversation once, and a
-- row per label counts the conversations carrying it. Triggers add rows in the transaction
-- of every insert, delete, and change of status, assignee, inbox or labels, so the counts
-- are exact across server processes and under concurrent updates. Writers only INSERT (no
-- counter row is ever updated in place), so concurrent ingest never waits on a hot row;
-- readers sum the rows of their account (domain::conversations::count_groups), and fold them
-- into one row per group from time to time.
CREATE TABLE conversation_counts (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL,
    inbox_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    -- 0 = unassigned
    assignee_id BIGINT NOT NULL,
    -- '' = all conversations of the group; else one label
    label TEXT NOT NULL,
    n BIGINT NOT NULL
);
CREATE INDEX conversation_counts_account ON conversation_counts (account_id);

INSERT INTO conversation_counts (account_id, inbox_id, status, assignee_id, label, n)
SELECT c.account_id, c.inbox_id, c.status, coalesce(c.assignee_id, 0), l.label, count(*)
FROM conversations c
CROSS JOIN LATERAL (SELECT '' UNION SELECT unnest(c.labels)) AS l(label)
GROUP BY 1, 2, 3, 4, 5;

CREATE FUNCTION conversation_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conversation_counts (account_id, inbox_id, status, assignee_id, label, n)
    SELECT c.account_id, c.inbox_id, c.status, coalesce(c.assignee_id, 0), l.label, count(*)
    FROM new_rows c
    CROSS JOIN LATERAL (SELECT '' UNION SELECT unnest(c.labels)) AS l(label)
    GROUP BY 1, 2, 3, 4, 5;
    RETURN NULL;
END
$$;
CREATE TRIGGER conversation_counts_inserted AFTER INSERT ON conversations
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION conversation_counts_inserted();

CREATE FUNCTION conversation_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conversation_counts (account_id, inbox_id, status, assignee_id, label, n)
    SELECT c.account_id, c.inbox_id, c.status, coalesce(c.assignee_id, 0), l.label, -count(*)
    FROM old_rows c
    CROSS JOIN LATERAL (SELECT '' UNION SELECT unnest(c.labels)) AS l(label)
    GROUP BY 1, 2, 3, 4, 5;
    RETURN NULL;
END
$$;
CREATE TRIGGER conversation_counts_deleted AFTER DELETE ON conversations
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION conversation_counts_deleted();

-- Row-level with a WHEN clause: the update of every incoming message (last_activity_at)
-- does not run the function.
CREATE FUNCTION conversation_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conversation_counts (account_id, inbox_id, status, assignee_id, label, n)
    SELECT OLD.account_id, OLD.inbox_id, OLD.status, coalesce(OLD.assignee_id, 0), l.label, -1
    FROM (SELECT '' UNION SELECT unnest(OLD.labels)) AS l(label)
    UNION ALL
    SELECT NEW.account_id, NEW.inbox_id, NEW.status, coalesce(NEW.assignee_id, 0), l.label, 1
    FROM (SELECT '' UNION SELECT unnest(NEW.labels)) AS l(label);
    RETURN NULL;
END
$$;
CREATE TRIGGER conversation_counts_updated AFTER UPDATE ON conversations
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
          OR OLD.inbox_id IS DISTINCT FROM NEW.inbox_id
          OR OLD.account_id IS DISTINCT FROM NEW.account_id
          OR OLD.labels IS DISTINCT FROM NEW.labels)
    EXECUTE FUNCTION conversation_counts_updated();

CREATE FUNCTION conversation_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM conversation_counts;
    RETURN NULL;
END
$$;
CREATE TRIGGER conversation_counts_truncated AFTER TRUNCATE ON conversations
    FOR EACH STATEMENT EXECUTE FUNCTION conversation_counts_truncated();

-- "Mine" and the assignee filters: only assigned conversations are indexed, so a new
-- (unassigned) conversation and its messages cost ingest nothing here.
CREATE INDEX conversations_assignee_activity
    ON conversations (account_id, assignee_id, last_activity_at DESC, id DESC)
    WHERE assignee_id IS NOT NULL;
-- The label filter: only labelled conversations are indexed (the list query repeats
-- `labels <> '{}'` so the planner may use it).
CREATE INDEX conversations_labels ON conversations USING gin (labels) WHERE labels <> '{}';
