"""Opt-out's schema migrations: env.py and versions/, applied at start-up and by `ccpa db upgrade optout`."""

from pathlib import Path

from services.common.migrations import Schema
from services.optout import orm

SCHEMA = Schema("optout", Path(__file__).parent, (orm.metadata,))
