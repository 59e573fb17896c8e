-- Issue 13 (rules): automation rules, their run log, once-only fires of time-based rules,
-- and macros. Names and JSON shapes follow Chatwoot's automation_rules and macros.
CREATE TABLE automation_rules (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- conversation_created | conversation_updated | conversation_resolved | message_created
    -- | conversation_unanswered (ours: time-based, see unanswered_minutes)
    event_name TEXT NOT NULL,
    -- [{attribute_key, filter_operator, values, query_operator, custom_attribute_type?}]
    conditions JSONB NOT NULL DEFAULT '[]',
    -- [{action_name, action_params}]
    actions JSONB NOT NULL DEFAULT '[]',
    active BOOLEAN NOT NULL DEFAULT true,
    -- only for conversation_unanswered: minutes a conversation stays open and unanswered
    unanswered_minutes INTEGER,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX automation_rules_account ON automation_rules (account_id, event_name) WHERE active;

-- One row per rule that ran on an event (matched or failed): what it did and any error.
CREATE TABLE automation_runs (
    id BIGSERIAL PRIMARY KEY,
    rule_id BIGINT NOT NULL REFERENCES automation_rules(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    conversation_id BIGINT REFERENCES conversations(id) ON DELETE SET NULL,
    event_name TEXT NOT NULL,
    -- done | failed | skipped (loop guard)
    outcome TEXT NOT NULL,
    -- human-readable lines, one per action
    actions_done JSONB NOT NULL DEFAULT '[]',
    error TEXT,
    -- 0 for an agent's or customer's event; n for an event caused by an action of depth n-1
    depth INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX automation_runs_rule ON automation_runs (rule_id, id DESC);

-- A time-based rule fires once per conversation per unanswered stretch (waiting_since):
-- the primary key makes it once with any number of processes.
CREATE TABLE automation_fires (
    rule_id BIGINT NOT NULL REFERENCES automation_rules(id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    waiting_since TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (rule_id, conversation_id, waiting_since)
);

-- Macros: a named list of automation actions an agent runs by hand.
CREATE TABLE macros (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- personal (only its creator sees and runs it) | global (the whole account)
    visibility TEXT NOT NULL DEFAULT 'personal' CHECK (visibility IN ('personal', 'global')),
    actions JSONB NOT NULL DEFAULT '[]',
    created_by_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    updated_by_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX macros_account ON macros (account_id, id);
