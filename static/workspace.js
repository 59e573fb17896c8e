// Workspace layout: contact panel, phone menu, keyboard help and command palette (issue 10).
"use strict";
