-- Issue 13 (hours): business hours, greeting, out of office and CSAT per inbox.

-- One row per inbox that has saved these settings (none: everything off).
CREATE TABLE inbox_hours_settings (
    inbox_id BIGINT PRIMARY KEY REFERENCES inboxes(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL,
    working_hours_enabled BOOLEAN NOT NULL DEFAULT false,
    -- IANA zone name (checked by the application with chrono-tz).
    timezone TEXT NOT NULL DEFAULT 'UTC',
    -- Chatwoot's working_hours rows: [{day_of_week, closed_all_day, open_hour, open_minutes,
    -- close_hour, close_minutes, open_all_day}], several rows per day allowed.
    working_hours JSONB NOT NULL DEFAULT '[]',
    -- Local dates closed all day: ["2026-12-25", ...].
    holidays JSONB NOT NULL DEFAULT '[]',
    out_of_office_message TEXT,
    greeting_enabled BOOLEAN NOT NULL DEFAULT false,
    greeting_message TEXT,
    csat_survey_enabled BOOLEAN NOT NULL DEFAULT false,
    csat_question TEXT,
    csat_scale TEXT NOT NULL DEFAULT '1-5' CHECK (csat_scale IN ('1-5', 'thumbs')),
    csat_template_name TEXT,
    csat_template_language TEXT,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Greeting / out-of-office replies sent: at most one per conversation, kind and period
-- (the unique key makes it hold with several server processes).
CREATE TABLE auto_replies (
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    period_key TEXT NOT NULL,
    message_id BIGINT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, kind, period_key)
);

-- CSAT surveys sent on resolve and the customer's answers (Chatwoot's csat_survey_responses).
CREATE TABLE csat_survey_responses (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL,
    inbox_id BIGINT NOT NULL,
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    contact_id BIGINT NOT NULL,
    assigned_agent_id BIGINT,
    -- The survey message (interactive or template).
    message_id BIGINT,
    scale TEXT NOT NULL,
    rating INT CHECK (rating BETWEEN 1 AND 5),
    feedback_message TEXT,
    rated_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX csat_survey_responses_account_rated ON csat_survey_responses (account_id, id) WHERE rating IS NOT NULL;
CREATE INDEX csat_survey_responses_conversation ON csat_survey_responses (conversation_id, id);
CREATE INDEX csat_survey_responses_contact ON csat_survey_responses (contact_id, id) WHERE rating IS NOT NULL;
