-- Issue 13 (rules at 1,000 messages/s): each process keeps an account's active rules parsed
-- in memory (domain::automation::rule_cache) and checks this version, one primary-key read,
-- before each use. Every change to an account's rules bumps it in the same transaction.
CREATE TABLE automation_rule_versions (
    account_id BIGINT PRIMARY KEY,
    version BIGINT NOT NULL DEFAULT 0
);

CREATE FUNCTION automation_rules_bump() RETURNS trigger AS $$
BEGIN
    INSERT INTO automation_rule_versions AS v (account_id, version)
    SELECT DISTINCT account_id, 1 FROM (
        SELECT account_id FROM changed_new UNION ALL SELECT account_id FROM changed_old) x
    ON CONFLICT (account_id) DO UPDATE SET version = v.version + 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- Statement triggers with transition tables (one per operation: PostgreSQL allows only one
-- of OLD/NEW TABLE for INSERT and DELETE).
CREATE FUNCTION automation_rules_bump_new() RETURNS trigger AS $$
BEGIN
    INSERT INTO automation_rule_versions AS v (account_id, version)
    SELECT DISTINCT account_id, 1 FROM changed_new
    ON CONFLICT (account_id) DO UPDATE SET version = v.version + 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE FUNCTION automation_rules_bump_old() RETURNS trigger AS $$
BEGIN
    INSERT INTO automation_rule_versions AS v (account_id, version)
    SELECT DISTINCT account_id, 1 FROM changed_old
    ON CONFLICT (account_id) DO UPDATE SET version = v.version + 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER automation_rules_version_insert AFTER INSERT ON automation_rules
    REFERENCING NEW TABLE AS changed_new
    FOR EACH STATEMENT EXECUTE FUNCTION automation_rules_bump_new();
CREATE TRIGGER automation_rules_version_update AFTER UPDATE ON automation_rules
    REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
    FOR EACH STATEMENT EXECUTE FUNCTION automation_rules_bump();
CREATE TRIGGER automation_rules_version_delete AFTER DELETE ON automation_rules
    REFERENCING OLD TABLE AS changed_old
    FOR EACH STATEMENT EXECUTE FUNCTION automation_rules_bump_old();
