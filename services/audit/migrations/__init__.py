"""Audit's schema migrations: env.py and versions/, applied at start-up and by `ccpa db upgrade audit`."""

from pathlib import Path

from services.audit import orm
from services.common.migrations import Schema

SCHEMA = Schema("audit", Path(__file__).parent, (orm.metadata,))
