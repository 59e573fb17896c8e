-- Seed of scripts/bench-contacts: 1,000,000 contacts in account :acc, set-based and
-- deterministic (no random()).
--
--   psql "$DATABASE_URL" -v acc=1 -f scripts/bench-contacts-seed.sql
--
-- Names are one of 60 first names (some accented) and one of 200 last names (12,000
-- combinations, ~83 contacts each); phone for 85% (+1 and ten hashed digits), BSUIDs as `US.` and twenty hashed digits, email for 60%, BSUID for
-- 40%, username for 10%; 5% are BSUID-only (no phone) and 1% username-only (no phone, no
-- BSUID); 20% carry one of 8 labels; created over two years; 70% active in the last 90 days.
\set ON_ERROR_STOP on
\timing on
SET maintenance_work_mem = '256MB';

BEGIN;
INSERT INTO labels (account_id, title, color)
SELECT :acc, t, '#1f93ff' FROM unnest(
    ARRAY['billing', 'bug', 'feature', 'lead', 'refund', 'urgent-followup', 'vip', 'spam']) AS l(t)
ON CONFLICT DO NOTHING;

CREATE TEMP TABLE bench_first (i int, name text);
INSERT INTO bench_first
SELECT row_number() OVER () - 1, f FROM unnest(ARRAY[
  'Zoë','José','Łukasz','Ana','Noël','Renée','Björn','François','Mohammed','Priya',
  'Wei','Yuki','Olga','Pedro','Maria','John','Aisha','Kwame','Fatima','Lars',
  'Sofía','Mateo','Chloé','Hugo','Inès','Jürgen','Ömer','Siobhán','Dmitri','Ngozi',
  'Emma','Liam','Olivia','Noah','Ava','Elijah','Mia','Lucas','Amelia','Mason',
  'Hana','Kenji','Lucía','Thiago','Camila','Rafael','Leila','Omar','Sara','Ali',
  'Nora','Axel','Freya','Emil','Ingrid','Tomás','Valentina','Diego','Isabel','Pablo'
]) f;
CREATE TEMP TABLE bench_last (i int, name text);
INSERT INTO bench_last
SELECT (a - 1) * 20 + (b - 1),
       (ARRAY['Nak','Gar','Ols','Pet','Mül','Kow','Rod','Fer','Sil','Tan'])[a] ||
       (ARRAY['amura','cía','sen','rov','ler','alski','ríguez','nández','va','aka',
              'berg','ström','ović','ini','elli','ez','son','ington','ard','ez-Díaz'])[b]
FROM generate_series(1, 10) a, generate_series(1, 20) b;

INSERT INTO contacts (account_id, name, phone_number, email, bsuid, username, labels,
                      created_at, updated_at, last_activity_at)
SELECT :acc,
       f.name || ' ' || l.name,
       CASE WHEN n % 20 <> 0 AND n % 100 <> 1 AND n % 100 < 86 THEN format('+1%s', 2000000000 + abs(hashint8(n)::bigint) % 7999999999) END,
       CASE WHEN n % 5 < 3 THEN lower(unaccent(f.name)) || '.' || lower(unaccent(replace(l.name, ' ', ''))) || n || '@example' || (n % 7) || '.com' END,
       CASE WHEN (n % 5 < 2 OR n % 20 = 0) AND n % 100 <> 1 THEN format('US.%s%s', lpad((abs(hashint8(n + 1000000007)::bigint) % 10000000000)::text, 10, '0'), lpad((abs(hashint8(-n)::bigint) % 10000000000)::text, 10, '0')) END,
       CASE WHEN n % 10 = 0 OR n % 100 = 1 THEN format('user%s', n) END,
       CASE WHEN n % 5 = 4 THEN ARRAY[(ARRAY['billing', 'bug', 'feature', 'lead', 'refund', 'urgent-followup', 'vip', 'spam'])[1 + (n / 5) % 8]] ELSE '{}'::text[] END,
       now() - make_interval(days => n % 730, secs => n % 86400),
       now() - make_interval(days => n % 730, secs => n % 86400),
       CASE WHEN n % 10 < 7 THEN now() - make_interval(days => (n * 7) % 90, secs => (n * 13) % 86400) END
FROM generate_series(1, 1000000) n
JOIN bench_first f ON f.i = n % 60
JOIN bench_last l ON l.i = (n / 60) % 200;
COMMIT;
ANALYZE contacts;
