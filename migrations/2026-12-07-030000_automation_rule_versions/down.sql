DROP TRIGGER automation_rules_version ON automation_rules;
DROP FUNCTION automation_rules_bump();
DROP TABLE automation_rule_versions;
