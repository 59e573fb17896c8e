// Canned responses: /shortcode in the composer (issue 10).
"use strict";
