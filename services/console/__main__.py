"""Run the console on its own: `python -m services.console`."""

from services.common.serve import serve

serve("console")
