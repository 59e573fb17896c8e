// Conversation list: selection, bulk actions, filter builder and saved views (issue 10).
"use strict";
