"""The console's pages: one router per page family, Jinja2 templates, one stylesheet, strict security headers."""
