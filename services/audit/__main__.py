"""Run audit on its own: `python -m services.audit` (CCPA_SERVICE_ROLE: all, worker or http)."""

from services.common.serve import serve

serve("audit")
