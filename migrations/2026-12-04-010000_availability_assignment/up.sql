-- Agent availability (issue 13): Chatwoot's `auto_offline` per account membership, and
-- presence heartbeats so "no open realtime stream for AUTO_OFFLINE_AFTER_SECONDS" holds
-- across server processes.
ALTER TABLE account_users
  ADD COLUMN auto_offline boolean NOT NULL DEFAULT true,
  -- Last heartbeat of an open SSE stream of this member (any process).
  ADD COLUMN last_seen_online_at timestamptz,
  -- When the member goes offline automatically unless another heartbeat comes first.
  ADD COLUMN presence_expires_at timestamptz,
  -- Set when the sweep made the member offline: the availability they had chosen, restored
  -- when a stream opens again. NULL while the availability is the member's own choice.
  ADD COLUMN away_from text CHECK (away_from IN ('online', 'busy'));

CREATE INDEX account_users_presence_due ON account_users (presence_expires_at)
  WHERE availability <> 'offline' AND auto_offline;

-- Auto-assignment (issue 13): per inbox settings and round-robin state. The row is also the
-- per-inbox lock every assignment decision takes (SELECT … FOR UPDATE).
CREATE TABLE inbox_auto_assignment (
  inbox_id bigint PRIMARY KEY REFERENCES inboxes(id) ON DELETE CASCADE,
  -- Chatwoot's auto_assignment_config.max_assignment_limit: open conversations of this inbox
  -- an agent may hold before the round-robin skips them. NULL = no limit.
  max_assignment_limit integer CHECK (max_assignment_limit IS NULL OR max_assignment_limit > 0),
  -- The agent the round-robin assigned last; the next decision starts after them.
  last_assigned_user_id bigint,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Conversations waiting for an agent with room, assigned oldest first.
CREATE TABLE assignment_queue (
  conversation_id bigint PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
  inbox_id bigint NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
  queued_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assignment_queue_inbox_order ON assignment_queue (inbox_id, queued_at, conversation_id);

-- Each agent's load (open conversations of the inbox assigned to them), read by every
-- assignment decision.
CREATE INDEX conversations_open_assignee_load ON conversations (inbox_id, assignee_id)
  WHERE status = 'open' AND assignee_id IS NOT NULL;
