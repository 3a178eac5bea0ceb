"""Run the deletion service on its own: `python -m services.deletion` (CCPA_SERVICE_ROLE: all, worker or http)."""

from services.common.serve import serve

serve("deletion")
