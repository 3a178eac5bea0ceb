"""Alembic environment of the key store database, shared by intake, optout, discovery and deletion."""

from alembic import context

from services.common.keystore_migrations import SCHEMA
from services.common.migrations import run_env

run_env(context, SCHEMA)
