"""`python -m services.discovery.scanner --datamap FILE`, until `ccpa discover scan` is registered."""

import typer

from services.discovery.scanner.cli import discover_scan

typer.run(discover_scan)
