DROP FUNCTION IF EXISTS switchboard_claim_events(integer, integer);
