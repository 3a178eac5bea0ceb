"""Run audit on its own: `python -m services.audit`."""

from services.common.serve import serve

serve("audit")
