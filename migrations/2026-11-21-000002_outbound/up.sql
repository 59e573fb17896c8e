-- Outbound to Meta: message templates, inbox health flags, conversation labels, and
-- per-key ordering plus crash detection for jobs.

-- Templates synced from GET /{waba_id}/message_templates, one row per (name, language).
CREATE TABLE message_templates (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    inbox_id BIGINT NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    -- Meta's template id
    external_id TEXT,
    name TEXT NOT NULL,
    -- e.g. en_US
    language TEXT NOT NULL,
    -- APPROVED | PENDING | REJECTED | PAUSED | DISABLED | …, as Meta writes it
    status TEXT NOT NULL,
    category TEXT,
    -- POSITIONAL ({{1}}) | NAMED ({{first_name}})
    parameter_format TEXT NOT NULL DEFAULT 'POSITIONAL',
    -- Meta's components array, verbatim
    components JSONB NOT NULL DEFAULT '[]',
    synced_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (inbox_id, name, language)
);

ALTER TABLE inboxes
    -- last successful template sync, and the error of the last failed one
    ADD COLUMN templates_synced_at TIMESTAMPTZ,
    ADD COLUMN templates_sync_error TEXT,
    -- when the periodic sync next takes this inbox (NULL = now)
    ADD COLUMN templates_next_sync_at TIMESTAMPTZ,
    -- set when Graph answers #190 (access token expired or invalid)
    ADD COLUMN reauthorization_required BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN reauthorization_error TEXT,
    -- the outcome of the last subscribed_apps setup; NULL warning = fine
    ADD COLUMN webhook_setup_warning TEXT,
    ADD COLUMN webhook_setup_at TIMESTAMPTZ;

-- Chatwoot's conversation labels are free tags.
ALTER TABLE conversations ADD COLUMN labels TEXT[] NOT NULL DEFAULT '{}';

ALTER TABLE jobs
    -- jobs sharing a key run one at a time, in id order (e.g. one conversation's sends)
    ADD COLUMN ordering_key TEXT,
    -- set when an attempt begins and cleared when it ends: set on a claim means the
    -- previous attempt crashed with an unknown outcome
    ADD COLUMN started_at TIMESTAMPTZ;
CREATE INDEX jobs_ordering ON jobs (ordering_key, id) WHERE status = 'pending' AND ordering_key IS NOT NULL;
