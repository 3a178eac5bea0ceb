"""Deletion's schema migrations: env.py and versions/, applied at start-up and by `ccpa db upgrade deletion`.

Its database holds its own tables (orm) and those of the erasure engine, the provider instructions and the kept
corrections, each module defining its tables on its own MetaData."""

from pathlib import Path

from services.common.migrations import Schema
from services.deletion import orm
from services.deletion.corrections import metadata as corrections
from services.deletion.erasure import metadata as erasure
from services.deletion.providers.instructions import metadata as instructions

SCHEMA = Schema("deletion", Path(__file__).parent, (orm.metadata, erasure, instructions, corrections))
