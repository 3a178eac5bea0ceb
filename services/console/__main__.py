"""Run the console on its own: `python -m services.console` (CCPA_SERVICE_ROLE: all, worker or http)."""

from services.common.serve import serve

serve("console")
