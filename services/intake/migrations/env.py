"""Alembic environment of the intake database: `ccpa db upgrade intake` and the service's start-up run it."""

from alembic import context

from services.common.migrations import run_env
from services.intake.migrations import SCHEMA

run_env(context, SCHEMA)
