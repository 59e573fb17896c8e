-- Failed-rows CSV of a contact import (issue 11): the file's header and each refused row's
-- original cells are kept, so the bad rows can be downloaded, fixed and imported again
-- after the file itself is dropped (contact_imports.data is NULL once finished).
ALTER TABLE contact_imports ADD COLUMN header TEXT[];
ALTER TABLE contact_import_errors ADD COLUMN cells TEXT[];
