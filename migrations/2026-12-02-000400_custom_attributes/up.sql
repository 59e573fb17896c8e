-- Custom attribute definitions (Chatwoot's custom_attribute_definitions): the typed fields an
-- account adds to its contacts and conversations. Values live in contacts.custom_attributes
-- and conversations.custom_attributes (JSONB, keyed by attribute_key); domain/custom_attributes.rs
-- validates them against these rows.
CREATE TABLE custom_attribute_definitions (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- lowercase snake case, 1 to 64 characters; unique per account and model
    attribute_key TEXT NOT NULL,
    attribute_display_name TEXT NOT NULL,
    -- text, number, currency, percent, link, date, list or checkbox
    attribute_display_type TEXT NOT NULL CHECK (attribute_display_type IN
        ('text', 'number', 'currency', 'percent', 'link', 'date', 'list', 'checkbox')),
    attribute_description TEXT,
    -- conversation_attribute or contact_attribute
    attribute_model TEXT NOT NULL CHECK (attribute_model IN ('conversation_attribute', 'contact_attribute')),
    -- the choices of a list attribute, in order
    attribute_values TEXT[] NOT NULL DEFAULT '{}',
    -- text attributes: a value must match regex_pattern; regex_cue is the hint shown otherwise
    regex_pattern TEXT,
    regex_cue TEXT,
    default_value TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX custom_attribute_definitions_key
    ON custom_attribute_definitions (account_id, attribute_model, attribute_key);
