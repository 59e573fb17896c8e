ALTER TABLE contact_import_errors DROP COLUMN cells;
ALTER TABLE contact_imports DROP COLUMN header;
