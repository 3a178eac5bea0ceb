"""The init step before the services start: the launcher brings every database they name to head, as `ccpa db
upgrade` does in an init container before a rollout. The services then find their databases at head and never
load Alembic (about 8 MiB per process, docs/benchmarks.md "Memory and the scale run").

Only an optimisation: a database this step could not migrate is left to the service, which runs the same upgrade
at start-up and fails there with its own message (a refused adoption, an unreachable database)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from services.common.db import make_engine
from services.common.migrations import schema_of, upgrade

log = logging.getLogger(__name__)

# The environment variable naming each migration environment's database, as the services' settings read them.
DATABASE_VARIABLES = {
    "CCPA_INTAKE_DATABASE_URL": "intake",
    "CCPA_AUDIT_DATABASE_URL": "audit",
    "CCPA_OPTOUT_DATABASE_URL": "optout",
    "CCPA_DISCOVERY_DATABASE_URL": "discovery",
    "CCPA_DELETION_DATABASE_URL": "deletion",
    "CCPA_CONSOLE_DATABASE_URL": "console",
    "CCPA_KEYSTORE_URL": "keystore",
}


def databases_of(envs: Iterable[Mapping[str, str]]) -> list[tuple[str, str]]:
    """(environment name, URL) of every database the services' environments name, each once, in a stable order."""
    found = {(name, env[variable]) for env in envs for variable, name in DATABASE_VARIABLES.items()
             if env.get(variable)}  # fmt: skip
    return sorted(found)


def migrate_databases(envs: Iterable[Mapping[str, str]]) -> list[str]:
    """Upgrade each database to head; the names of those left to their service (see the module's docstring)."""
    left = []
    for name, url in databases_of(envs):
        engine = make_engine(url)
        try:
            upgrade(schema_of(name), engine)
        except Exception as exc:  # the service repeats the upgrade and reports the failure itself
            log.warning("left the %s database to its service: %s", name, type(exc).__name__)
            left.append(name)
        finally:
            engine.dispose()
    return left
