"""Run the discovery service on its own: `python -m services.discovery`."""

from services.common.serve import serve

serve("discovery")
