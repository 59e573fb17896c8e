-- Issue 13 (rules at 1,000 messages/s): each process keeps an account's active rules parsed
-- in memory (domain::automation::rule_cache) and checks this version, one primary-key read,
-- before each use. Every change to an account's rules bumps it in the same transaction
-- (a row trigger: rules change rarely, a few at a time).
CREATE TABLE automation_rule_versions (
    account_id BIGINT PRIMARY KEY,
    version BIGINT NOT NULL DEFAULT 0
);

CREATE FUNCTION automation_rules_bump() RETURNS trigger AS $$
BEGIN
    INSERT INTO automation_rule_versions AS v (account_id, version)
    VALUES (CASE TG_OP WHEN 'DELETE' THEN OLD.account_id ELSE NEW.account_id END, 1)
    ON CONFLICT (account_id) DO UPDATE SET version = v.version + 1;
    IF TG_OP = 'UPDATE' AND OLD.account_id <> NEW.account_id THEN
        INSERT INTO automation_rule_versions AS v (account_id, version) VALUES (OLD.account_id, 1)
        ON CONFLICT (account_id) DO UPDATE SET version = v.version + 1;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER automation_rules_version AFTER INSERT OR UPDATE OR DELETE ON automation_rules
    FOR EACH ROW EXECUTE FUNCTION automation_rules_bump();
