DROP TABLE macros;
DROP TABLE automation_fires;
DROP TABLE automation_runs;
DROP TABLE automation_rules;
