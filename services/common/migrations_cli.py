"""`ccpa db`: bring a database to its latest schema by hand, see where it is, or write the next revision."""

from __future__ import annotations

import typer
from alembic import command
from rich.console import Console

from services.common.db import make_engine
from services.common.migrations import ENVIRONMENTS, SchemaMismatch, current, schema_of, upgrade

db_app = typer.Typer(no_args_is_help=True, help="Schema migrations of each service's database and the key store")
console = Console()
NAMES = ", ".join(ENVIRONMENTS)


def database_url(name: str) -> str:
    """The URL the service itself would use: its settings, read from the environment (CCPA_<NAME>_DATABASE_URL)."""
    from services.common.serve import load_settings

    if name == "keystore":
        from services.common.settings import CommonSettings

        return CommonSettings().keystore_url
    url: str = load_settings(name).database_url
    return url


@db_app.command("upgrade")
def db_upgrade(name: str = typer.Argument(help=f"Which database: {NAMES}")) -> None:
    """Migrate a database to its latest revision, as the service does at start-up (adopting a pre-migration one)."""
    try:
        schema = schema_of(name)
        engine = make_engine(database_url(name))
        upgrade(schema, engine)
    except SchemaMismatch as exc:
        raise SystemExit(str(exc)) from None
    console.print(f"{name}: at revision {current(schema, engine)}")


@db_app.command("current")
def db_current(name: str = typer.Argument(help=f"Which database: {NAMES}")) -> None:
    """Print the revision a database is at (none before its first upgrade)."""
    try:
        schema = schema_of(name)
    except SchemaMismatch as exc:
        raise SystemExit(str(exc)) from None
    console.print(f"{name}: at revision {current(schema, make_engine(database_url(name))) or 'none'}")


@db_app.command("revision")
def db_revision(
    name: str = typer.Argument(help=f"Which database: {NAMES}"),
    message: str = typer.Option(..., "--message", "-m", help="What the revision changes, in a sentence"),
) -> None:
    """Write the next revision: what the models add to the schema at head. Review it, commit it with the models."""
    try:
        schema = schema_of(name)
    except SchemaMismatch as exc:
        raise SystemExit(str(exc)) from None
    engine = make_engine("sqlite://")
    upgrade(schema, engine)
    with engine.connect() as connection:
        command.revision(schema.config(connection), message=message, autogenerate=True,
                         rev_id=schema.next_revision_id())  # fmt: skip
