"""Run the deletion service on its own: `python -m services.deletion`."""

from services.common.serve import serve

serve("deletion")
