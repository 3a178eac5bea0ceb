"""The operator console: the privacy team's daily work (queue, request pages, dashboard, consent look-up) as a thin
web layer over the other services' APIs, with per-person accounts and every action on the record."""
