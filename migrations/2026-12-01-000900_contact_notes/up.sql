-- Contact notes (Chatwoot's contacts/{id}/notes): free text agents keep about a contact,
-- read in the conversation's contact panel, newest first.
CREATE TABLE contact_notes (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    contact_id BIGINT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    -- who wrote it (NULL once that user is deleted)
    user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    -- 1 to 10,000 characters (domain/contact_notes.rs)
    content TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX contact_notes_contact_created ON contact_notes (contact_id, created_at DESC, id DESC);
