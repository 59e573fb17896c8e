DROP INDEX IF EXISTS conversations_team_counts;
