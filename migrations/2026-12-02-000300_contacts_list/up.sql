-- The Contacts screen and contact search at 1,000,000 contacts (issue 11, contacts-ui).

-- Contact labels, stored as conversation labels are (titles in a text array). The
-- contacts-api migration (2026-12-02-000200_contact_writes) adds the same column and index;
-- IF NOT EXISTS makes this one a no-op after it, and lets this branch stand alone.
ALTER TABLE contacts ADD COLUMN IF NOT EXISTS labels TEXT[] NOT NULL DEFAULT '{}';
CREATE INDEX IF NOT EXISTS contacts_labels ON contacts USING gin (labels) WHERE labels <> '{}';

-- Search: one folded text per contact holding every field a person searches by (name, email,
-- phone number, identifier, BSUID, username), separated by spaces (a search word never holds
-- a space, so no word matches across two fields), stored as a generated column with one
-- trigram index. A search is then one LIKE per word on one indexed column, ANDed: one bitmap
-- index scan, and a cheap recheck of the stored text (not unaccent again per candidate row),
-- instead of six ILIKEs ORed over columns of which three had no trigram index.
-- domain::contact_list searches `search_doc`; it is never written by the application.
CREATE FUNCTION switchboard_contact_doc(name TEXT, email TEXT, phone_number TEXT,
                                        identifier TEXT, bsuid TEXT, username TEXT)
    RETURNS TEXT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN switchboard_fold(coalesce(name, '') || ' ' || coalesce(email, '') || ' ' ||
                            coalesce(phone_number, '') || ' ' || coalesce(identifier, '') || ' ' ||
                            coalesce(bsuid, '') || ' ' || coalesce(username, ''));
ALTER TABLE contacts ADD COLUMN search_doc TEXT NOT NULL
    GENERATED ALWAYS AS (switchboard_contact_doc(name, email, phone_number, identifier, bsuid, username)) STORED;
CREATE INDEX contacts_search_doc_trgm ON contacts USING gin (search_doc gin_trgm_ops);

-- Keyset paging of the list in each of its sort orders: (sort key, id) is unique, and each
-- order has an index on (account_id, key, id), so a page is an index range however deep.
-- Name: folded (case and accents ignored, as search does).
CREATE INDEX contacts_account_name_sort ON contacts (account_id, switchboard_fold(name), id);
-- (replaces 000200's (account_id, created_at), which this one serves as well)
DROP INDEX IF EXISTS contacts_account_created;
CREATE INDEX contacts_account_created ON contacts (account_id, created_at, id);
-- Last activity: never-active contacts sort as the oldest. This index makes the
-- last_activity_at update of each incoming message a non-HOT update (every contacts index
-- gets an entry); the Contacts screen's "last activity" order needs it at 1M contacts.
CREATE INDEX contacts_account_activity
    ON contacts (account_id, (coalesce(last_activity_at, '-infinity'::timestamptz)), id);
