"""Run the opt-out service on its own: `python -m services.optout`."""

from services.common.serve import serve

serve("optout")
