// Placeholder: the dashboard's script draws the charts from /api/*.
"use strict";
