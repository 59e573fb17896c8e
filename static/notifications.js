// Notification centre behind the bell, and @mentions in private notes (issue 10).
"use strict";
