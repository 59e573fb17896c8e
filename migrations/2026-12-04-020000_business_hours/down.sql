DROP TABLE csat_survey_responses;
DROP TABLE auto_replies;
DROP TABLE inbox_hours_settings;
