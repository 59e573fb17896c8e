-- Seed of scripts/bench-ui: 100,000 conversations and 1,000,000 messages in account :acc,
-- set-based (generate_series), deterministic (no random()), in a few minutes.
--
--   psql "$DATABASE_URL" -v acc=1 -v admin_email=bench@example.com -f scripts/bench-ui-seed.sql
--
-- The account and its administrator come from `switchboard create-admin`. The 20 agents
-- (agent01@bench.example … agent20@bench.example) get the administrator's password hash, so
-- they sign in with the administrator's password. agent01 is a member of inboxes 1 and 2
-- (not 3), so the inbox-visibility filter is exercised.
\set ON_ERROR_STOP on
\timing on

BEGIN;

-- Agents with the administrator's password.
INSERT INTO users (name, email, encrypted_password, access_token_digest)
SELECT format('Agent %s', lpad(a::text, 2, '0')),
       format('agent%s@bench.example', lpad(a::text, 2, '0')),
       (SELECT encrypted_password FROM users WHERE lower(email) = lower(:'admin_email')),
       md5(format('bench-agent-token-%s-%s', :acc, a))
FROM generate_series(1, 20) a;
INSERT INTO account_users (account_id, user_id, role)
SELECT :acc, u.id, 'agent' FROM users u WHERE u.email LIKE 'agent%@bench.example';

-- Three WhatsApp inboxes (fake credentials; the template sync takes them in 100 years).
INSERT INTO channel_whatsapp (account_id, phone_number, phone_number_id, business_account_id,
                              api_key_ciphertext, webhook_verify_token)
SELECT :acc, format('+1555000%s%s', :acc, i), format('bench-pnid-%s-%s', :acc, i),
       format('bench-waba-%s', :acc), 'bench-not-a-ciphertext', format('bench-verify-%s', i)
FROM generate_series(1, 3) i;
INSERT INTO inboxes (account_id, channel_id, name, templates_next_sync_at)
SELECT :acc, c.id, (ARRAY['Sales', 'Support', 'Billing'])[row_number() OVER (ORDER BY c.id)],
       now() + interval '100 years'
FROM channel_whatsapp c WHERE c.account_id = :acc;
CREATE TEMP TABLE bench_inbox AS
SELECT row_number() OVER (ORDER BY id)::int AS n, id FROM inboxes WHERE account_id = :acc;
CREATE TEMP TABLE bench_agent AS
SELECT substring(email from 6 for 2)::int AS n, id FROM users WHERE email LIKE 'agent%@bench.example';

-- Memberships: inbox 1 all agents, inbox 2 agents 1–12, inbox 3 agents 10–20.
INSERT INTO inbox_members (inbox_id, user_id)
SELECT i.id, a.id FROM bench_inbox i JOIN bench_agent a
  ON (i.n = 1) OR (i.n = 2 AND a.n <= 12) OR (i.n = 3 AND a.n >= 10);

INSERT INTO teams (account_id, name) VALUES (:acc, 'Tier 1'), (:acc, 'Tier 2');
CREATE TEMP TABLE bench_team AS
SELECT row_number() OVER (ORDER BY id)::int AS n, id FROM teams WHERE account_id = :acc;

INSERT INTO labels (account_id, title, color)
SELECT :acc, t, c FROM unnest(
    ARRAY['billing', 'bug', 'feature', 'lead', 'refund', 'urgent-followup', 'vip', 'spam'],
    ARRAY['#1f93ff', '#e0383e', '#44ce4b', '#ff9f43', '#a55eea', '#f7b731', '#20bf6b', '#778ca3']
) AS l(t, c);

-- 100,000 contacts: phone for 90%, BSUID for 40%, username for 10%.
INSERT INTO contacts (account_id, name, phone_number, bsuid, username, last_activity_at)
SELECT :acc,
       CASE WHEN n % 13 = 0 THEN '' ELSE format('Customer %s', n) END,
       CASE WHEN n % 10 <> 0 THEN format('+1%s', 2000000000 + n) END,
       CASE WHEN n % 5 < 2 THEN format('US.%s', 7000000000000000 + n) END,
       CASE WHEN n % 10 = 0 THEN format('user%s', n) END,
       now() - make_interval(secs => (n * 7919) % 7776000)
FROM generate_series(1, 100000) n;
CREATE TEMP TABLE bench_contact AS
SELECT row_number() OVER (ORDER BY id)::int AS n, id, phone_number, bsuid
FROM contacts WHERE account_id = :acc;
INSERT INTO contact_inboxes (contact_id, inbox_id, source_id, source_kind)
SELECT c.id, i.id, coalesce(ltrim(c.phone_number, '+'), c.bsuid, format('US.%s', c.n)),
       CASE WHEN c.phone_number IS NOT NULL THEN 'phone' ELSE 'bsuid' END
FROM bench_contact c JOIN bench_inbox i ON i.n = 1 + c.n % 3;

-- 100,000 conversations, one per contact. Statuses: 35% open, 10% pending, 5% snoozed,
-- 50% resolved; ~40% assigned (to an agent of the inbox); 30% in a team; 25% with a
-- priority; 30% labelled (one or two of 8 labels); activity over the last 90 days.
INSERT INTO conversations (account_id, inbox_id, display_id, contact_id, contact_inbox_id,
                           status, priority, assignee_id, team_id, snoozed_until,
                           last_incoming_at, last_activity_at, agent_last_seen_at, labels,
                           created_at, updated_at)
SELECT :acc, i.id, c.n, c.id, ci.id,
       s.status,
       CASE WHEN h.p = 0 THEN (ARRAY['low', 'medium', 'high', 'urgent'])[1 + (c.n / 4) % 4] END,
       a.id, t.id,
       CASE WHEN s.status = 'snoozed' THEN now() + interval '3 days' END,
       act.at - interval '5 minutes', act.at,
       CASE WHEN c.n % 3 = 0 THEN NULL ELSE act.at - interval '8 minutes' END,
       CASE WHEN h.l < 3 THEN
           (SELECT array_agg(DISTINCT l ORDER BY l) FROM unnest(ARRAY[
               (ARRAY['billing', 'bug', 'feature', 'lead', 'refund', 'urgent-followup', 'vip', 'spam'])[1 + c.n % 8],
               (ARRAY['billing', 'bug', 'feature', 'lead', 'refund', 'urgent-followup', 'vip', 'spam'])[1 + (c.n / 7) % 8]
           ]) l)
       ELSE '{}' END,
       act.at - interval '2 days', act.at
FROM bench_contact c
JOIN bench_inbox i ON i.n = 1 + c.n % 3
JOIN contact_inboxes ci ON ci.contact_id = c.id
-- Independent pseudo-random draws per conversation (hashint4 is deterministic).
CROSS JOIN LATERAL (SELECT abs(hashint4(c.n)) % 20 AS s, abs(hashint4(c.n + 7777777)) % 5 AS a,
                           abs(hashint4(c.n + 5555555)) % 10 AS l, abs(hashint4(c.n + 3333333)) % 10 AS t,
                           abs(hashint4(c.n + 1111111)) % 4 AS p) h
CROSS JOIN LATERAL (SELECT now() - make_interval(secs => (c.n::bigint * 7919) % 7776000) AS at) act
CROSS JOIN LATERAL (SELECT CASE WHEN h.s < 7 THEN 'open' WHEN h.s < 9 THEN 'pending'
                                WHEN h.s = 9 THEN 'snoozed' ELSE 'resolved' END AS status) s
LEFT JOIN bench_agent a ON h.a < 2 AND a.n = CASE i.n
    WHEN 1 THEN 1 + (c.n / 5) % 20 WHEN 2 THEN 1 + (c.n / 5) % 12 ELSE 10 + (c.n / 5) % 11 END
LEFT JOIN bench_team t ON h.t < 3 AND t.n = 1 + (c.n / 10) % 2;
SELECT setval(format('conv_dpid_seq_%s', :acc), 100000);

-- 1,000,000 messages, 10 per conversation a minute apart, ending at last_activity_at:
-- customer and agent turns, an activity line (the 6th), a private note (the 8th); the last
-- two are the customer's (unread where agent_last_seen_at is older).
INSERT INTO messages (account_id, inbox_id, conversation_id, message_type, content, private,
                      status, source_id, sender_type, sender_id, created_at, updated_at)
SELECT :acc, cv.inbox_id, cv.id,
       CASE WHEN k = 6 THEN 2 WHEN k IN (1, 3, 5, 7, 9, 10) THEN 0 ELSE 1 END,
       CASE WHEN k = 6 THEN 'Conversation was marked as pending by Agent 01'
            WHEN k = 8 THEN format('Note for %s: customer asked about order %s', cv.display_id, k)
            ELSE format('Message %s in conversation %s: hello, I have a question about my order #%s and the delivery date',
                        k, cv.display_id, cv.display_id * 10 + k) END,
       k = 8,
       CASE WHEN k IN (2, 4) THEN 'read' ELSE 'sent' END,
       CASE WHEN k IN (6, 8) THEN NULL ELSE format('wamid.BENCH%s_%s', cv.display_id, k) END,
       CASE WHEN k = 6 THEN NULL WHEN k IN (1, 3, 5, 7, 9, 10) THEN 'Contact' ELSE 'User' END,
       CASE WHEN k = 6 THEN NULL WHEN k IN (1, 3, 5, 7, 9, 10) THEN cv.contact_id
            ELSE coalesce(cv.assignee_id, (SELECT min(id) FROM bench_agent)) END,
       cv.last_activity_at - make_interval(mins => 10 - k),
       cv.last_activity_at - make_interval(mins => 10 - k)
FROM conversations cv CROSS JOIN generate_series(1, 10) k
WHERE cv.account_id = :acc;

COMMIT;
ANALYZE;
