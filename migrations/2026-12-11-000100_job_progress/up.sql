-- How many items of a job that works through a list are done (issue 13: one `automation`
-- job carries the rule triggers of a whole ingest unit; each trigger's run commits together
-- with this count, so a retried or re-leased job resumes after the last one done and never
-- runs a trigger twice). A column of its own, not a key in `payload`: updating it is a HOT
-- update of a small row, where rewriting the payload would rewrite its TOASTed list each time.
ALTER TABLE jobs ADD COLUMN progress integer NOT NULL DEFAULT 0;
