"""Alembic environment of the discovery database: `ccpa db upgrade discovery` and the service's start-up run it."""

from alembic import context

from services.common.migrations import run_env
from services.discovery.migrations import SCHEMA

run_env(context, SCHEMA)
