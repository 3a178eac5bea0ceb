"""Run intake on its own: `python -m services.intake`."""

from services.common.serve import serve

serve("intake")
