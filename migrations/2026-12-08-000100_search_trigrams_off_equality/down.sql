CREATE INDEX contacts_phone_number_trgm ON contacts USING gin (phone_number gin_trgm_ops);
CREATE INDEX contacts_bsuid_trgm ON contacts USING gin (bsuid gin_trgm_ops);
DROP INDEX IF EXISTS contacts_phone_number_lower_trgm;
DROP INDEX IF EXISTS contacts_bsuid_lower_trgm;
