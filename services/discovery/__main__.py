"""Run the discovery service on its own: `python -m services.discovery` (CCPA_SERVICE_ROLE: all, worker or http)."""

from services.common.serve import serve

serve("discovery")
