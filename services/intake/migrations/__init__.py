"""Intake's schema migrations: env.py and versions/, applied at start-up and by `ccpa db upgrade intake`."""

from pathlib import Path

from services.common.migrations import Schema
from services.intake import orm

SCHEMA = Schema("intake", Path(__file__).parent, (orm.metadata,))
