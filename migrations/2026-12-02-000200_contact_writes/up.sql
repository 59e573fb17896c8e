-- Contact write paths (issue 11, contacts-api): contact labels, and the uniqueness of the
-- fields people type (email, identifier) within an account.
--
-- Contact labels are stored as conversation labels are: titles in a text array on the row.
ALTER TABLE contacts ADD COLUMN labels TEXT[] NOT NULL DEFAULT '{}';
CREATE INDEX contacts_labels ON contacts USING gin (labels) WHERE labels <> '{}';

-- Ingest never writes email or identifier, but keep the index creatable whatever the data:
-- a later duplicate (by id) gives its value up, kept in additional_attributes so nothing is
-- lost.
UPDATE contacts c
SET additional_attributes = c.additional_attributes || jsonb_build_object('duplicate_email', c.email),
    email = NULL
WHERE c.email IS NOT NULL
  AND EXISTS (SELECT 1 FROM contacts o
              WHERE o.account_id = c.account_id AND lower(o.email) = lower(c.email) AND o.id < c.id);
UPDATE contacts c
SET additional_attributes = c.additional_attributes || jsonb_build_object('duplicate_identifier', c.identifier),
    identifier = NULL
WHERE c.identifier IS NOT NULL
  AND EXISTS (SELECT 1 FROM contacts o
              WHERE o.account_id = c.account_id AND o.identifier = c.identifier AND o.id < c.id);

CREATE UNIQUE INDEX contacts_account_email_unique
    ON contacts (account_id, lower(email)) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX contacts_account_identifier_unique
    ON contacts (account_id, identifier) WHERE identifier IS NOT NULL;

-- Phone numbers are not unique per account: ingest keeps a recycled number's old owner and
-- creates one contact per inbox. The API refuses a duplicate phone under an advisory lock
-- instead (domain::contact_writes). This index serves that check and the merge lookup.
CREATE INDEX contacts_account_phone ON contacts (account_id, phone_number) WHERE phone_number IS NOT NULL;

-- The contact filter's created_at conditions (created_at never changes: no update cost).
CREATE INDEX contacts_account_created ON contacts (account_id, created_at);
