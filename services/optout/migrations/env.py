"""Alembic environment of the optout database: `ccpa db upgrade optout` and the service's start-up run it."""

from alembic import context

from services.common.migrations import run_env
from services.optout.migrations import SCHEMA

run_env(context, SCHEMA)
