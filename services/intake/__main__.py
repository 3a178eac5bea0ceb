"""Run intake on its own: `python -m services.intake` (CCPA_SERVICE_ROLE: all, worker or http)."""

from services.common.serve import serve

serve("intake")
