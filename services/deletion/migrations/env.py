"""Alembic environment of the deletion database: `ccpa db upgrade deletion` and the service's start-up run it."""

from alembic import context

from services.common.migrations import run_env
from services.deletion.migrations import SCHEMA

run_env(context, SCHEMA)
