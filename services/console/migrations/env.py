"""Alembic environment of the console database: `ccpa db upgrade console` and the service's start-up run it."""

from alembic import context

from services.common.migrations import run_env
from services.console.migrations import SCHEMA

run_env(context, SCHEMA)
