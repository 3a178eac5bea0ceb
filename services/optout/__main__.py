"""Run the opt-out service on its own: `python -m services.optout` (CCPA_SERVICE_ROLE: all, worker or http)."""

from services.common.serve import serve

serve("optout")
