-- Contact CSV imports (Chatwoot's data_imports, contacts only): the uploaded file, kept in the
-- database until the import job finishes (so any server process can run it), and its progress.
-- `next_offset` / `next_line` mark where the next batch starts: each batch of rows commits
-- with its contacts, its bad rows and the new offset in one transaction, so a crashed job
-- resumes after the last committed batch and never imports a row twice.
CREATE TABLE contact_imports (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    file_name TEXT NOT NULL DEFAULT '',
    -- The CSV bytes (UTF-8, BOM removed); NULL once the import has finished.
    data BYTEA,
    file_size BIGINT NOT NULL DEFAULT 0,
    -- pending | processing | completed | failed (Chatwoot's data_import statuses)
    status TEXT NOT NULL DEFAULT 'pending',
    rows_total INT NOT NULL DEFAULT 0,
    rows_done INT NOT NULL DEFAULT 0,
    created_count INT NOT NULL DEFAULT 0,
    updated_count INT NOT NULL DEFAULT 0,
    failed_count INT NOT NULL DEFAULT 0,
    next_offset BIGINT NOT NULL DEFAULT 0,
    next_line BIGINT NOT NULL DEFAULT 2,
    error TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ
);
CREATE INDEX contact_imports_account ON contact_imports (account_id, id);

-- The rows an import refused: the CSV line where the row starts (1 is the header) and why.
CREATE TABLE contact_import_errors (
    id BIGSERIAL PRIMARY KEY,
    import_id BIGINT NOT NULL REFERENCES contact_imports(id) ON DELETE CASCADE,
    line BIGINT NOT NULL,
    field TEXT,
    reason TEXT NOT NULL,
    UNIQUE (import_id, line)
);

-- Import matches existing contacts by identifier, email, phone number and BSUID (Chatwoot's
-- DataImport::ContactManager): equality lookups that stay fast at millions of contacts.
CREATE INDEX IF NOT EXISTS contacts_account_email ON contacts (account_id, email) WHERE email IS NOT NULL;
-- The same name and definition as the contact write part's (2026-12-02-000200), so only one exists.
CREATE INDEX IF NOT EXISTS contacts_account_phone ON contacts (account_id, phone_number) WHERE phone_number IS NOT NULL;
CREATE INDEX IF NOT EXISTS contacts_account_bsuid ON contacts (account_id, bsuid) WHERE bsuid IS NOT NULL;

-- Contact labels (the `labels` column of the export and import): titles in a text array on
-- the row, as conversation labels are. The contact write part (2026-12-02-000200) adds the
-- same column and index; IF NOT EXISTS keeps either order working.
ALTER TABLE contacts ADD COLUMN IF NOT EXISTS labels TEXT[] NOT NULL DEFAULT '{}';
CREATE INDEX IF NOT EXISTS contacts_labels ON contacts USING gin (labels) WHERE labels <> '{}';
