DROP INDEX jobs_kind_due;
