// Composer and message actions: emoji, drafts, paste/drop files, reply quoting, reactions, retry (issue 10).
"use strict";
