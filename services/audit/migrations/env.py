"""Alembic environment of the audit database: `ccpa db upgrade audit` and the service's start-up run it."""

from alembic import context

from services.audit.migrations import SCHEMA
from services.common.migrations import run_env

run_env(context, SCHEMA)
