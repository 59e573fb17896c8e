DROP TRIGGER IF EXISTS applied_slas_clear_due ON applied_slas;
DROP FUNCTION IF EXISTS applied_slas_clear_due();
DROP INDEX IF EXISTS conversations_account_sla_due;
ALTER TABLE conversations DROP COLUMN IF EXISTS sla_due_at;
