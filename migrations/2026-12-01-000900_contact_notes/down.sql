DROP TABLE contact_notes;
