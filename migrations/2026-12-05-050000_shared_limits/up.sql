-- Issue 15 (limits): rate limits shared by every server process through PostgreSQL.
-- One token bucket per key (`send:{phone_number_id}`, `sign_in_ip:{ip}`,
-- `sign_in_email:{email}`), moved by one statement per check (src/domain/limits.rs).
CREATE TABLE rate_buckets (
    key TEXT PRIMARY KEY,
    -- Most tokens the bucket holds (the burst).
    capacity DOUBLE PRECISION NOT NULL CHECK (capacity >= 1),
    -- Tokens added per second.
    per_second DOUBLE PRECISION NOT NULL CHECK (per_second > 0),
    -- Tokens left at `updated_at`; negative for a send bucket = reservations ahead (debt).
    tokens DOUBLE PRECISION NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
-- The pruning job deletes buckets that have refilled (idle keys).
CREATE INDEX rate_buckets_updated_at ON rate_buckets (updated_at);
