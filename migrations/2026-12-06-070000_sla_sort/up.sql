-- The conversation list sorted by SLA urgency (issue 13): `sla_due_at` is the conversation's
-- most urgent unmet SLA deadline: a missed deadline that is still unmet (in the past, so it
-- sorts first), else the next pending one; NULL when no SLA is active (none applied, or the
-- conversation resolved). `domain::sla::settle` maintains it in the transaction of every
-- change; removing the applied SLA clears it (trigger below).
ALTER TABLE conversations ADD COLUMN sla_due_at TIMESTAMPTZ;

UPDATE conversations c SET sla_due_at = a.due_at
FROM applied_slas a
WHERE a.conversation_id = c.id AND a.sla_status IN ('active', 'active_with_misses');

-- `sla_due_asc` pages on (key, id) with NULL read as the far-future sentinel the query repeats
-- word for word (as `conversations_account_waiting` does for `waiting_since_asc`).
CREATE INDEX conversations_account_sla_due ON conversations
    (account_id, (COALESCE(sla_due_at, '9999-12-31 00:00:00+00'::timestamptz)), id);

CREATE FUNCTION applied_slas_clear_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversations SET sla_due_at = NULL
    WHERE id = OLD.conversation_id AND sla_due_at IS NOT NULL;
    RETURN NULL;
END $$;

CREATE TRIGGER applied_slas_clear_due AFTER DELETE ON applied_slas
    FOR EACH ROW EXECUTE FUNCTION applied_slas_clear_due();
