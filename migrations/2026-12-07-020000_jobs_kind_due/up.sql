-- Claiming a job of one kind (jobs::claim, claim_batch: ORDER BY run_at, id LIMIT n FOR
-- UPDATE SKIP LOCKED) read every pending job through jobs_due and sorted those of the kind
-- in full (a locking LIMIT cannot use a bounded sort), spilling to disk once thousands of
-- automation jobs were pending: under 200 messages/s with 500 rules the claims took most of
-- PostgreSQL's CPU and assignment waited half a second. This index gives each kind its due
-- jobs in order, so a claim reads the first unlocked row and stops.
CREATE INDEX jobs_kind_due ON jobs (kind, run_at, id) WHERE status = 'pending';
