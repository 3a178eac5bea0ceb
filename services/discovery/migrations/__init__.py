"""Discovery's schema migrations: env.py and versions/, applied at start-up and by `ccpa db upgrade discovery`."""

from pathlib import Path

from services.common.migrations import Schema
from services.discovery import orm

SCHEMA = Schema("discovery", Path(__file__).parent, (orm.metadata,))
