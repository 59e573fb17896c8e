DROP TRIGGER automation_rules_version_insert ON automation_rules;
DROP TRIGGER automation_rules_version_update ON automation_rules;
DROP TRIGGER automation_rules_version_delete ON automation_rules;
DROP FUNCTION automation_rules_bump();
DROP FUNCTION automation_rules_bump_new();
DROP FUNCTION automation_rules_bump_old();
DROP TABLE automation_rule_versions;
