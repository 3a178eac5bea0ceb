"""The console's schema migrations: env.py and versions/, applied at start-up and by `ccpa db upgrade console`."""

from pathlib import Path

from services.common.migrations import Schema
from services.console import orm

SCHEMA = Schema("console", Path(__file__).parent, (orm.metadata,))
