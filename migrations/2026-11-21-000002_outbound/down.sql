DROP INDEX IF EXISTS jobs_ordering;
ALTER TABLE jobs DROP COLUMN ordering_key, DROP COLUMN started_at;
ALTER TABLE conversations DROP COLUMN labels;
ALTER TABLE inboxes
    DROP COLUMN templates_synced_at,
    DROP COLUMN templates_sync_error,
    DROP COLUMN templates_next_sync_at,
    DROP COLUMN reauthorization_required,
    DROP COLUMN reauthorization_error,
    DROP COLUMN webhook_setup_warning,
    DROP COLUMN webhook_setup_at;
DROP TABLE message_templates;
