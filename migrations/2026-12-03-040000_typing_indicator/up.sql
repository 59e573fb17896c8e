-- Issue 12 (profile-typing): the typing indicator's throttle, kept in PostgreSQL so it holds
-- across server processes: one row per conversation with the time its last indicator was
-- queued. A conditional upsert (`domain::typing`) moves it at most once every 20 seconds.
CREATE TABLE typing_indicator_sends (
    conversation_id BIGINT PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
    sent_at TIMESTAMPTZ NOT NULL
);
