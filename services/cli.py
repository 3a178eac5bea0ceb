"""`ccpa`: run a service, key and audit maintenance; the local stack and the demo when devtools is present."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from typer.core import TyperGroup, TyperOption

from services.common.migrations_cli import db_app
from services.common.serve import SERVICES
from services.deletion.cli import backups_reapply
from services.discovery.scanner.cli import discover_scan
from services.optout.gpp_cli import gpp_app

# Plain help (click's layout): options read `--datamap FILE`, flags carry no `<bool>`, and it survives a pipe.
HELP = None
app = typer.Typer(no_args_is_help=True, help="CCPA privacy pipeline", rich_markup_mode=HELP)
keys_app = typer.Typer(no_args_is_help=True, rich_markup_mode=HELP,
                       help="Key management: shred a subject's data key, re-wrap under a new master key")  # fmt: skip
audit_app = typer.Typer(no_args_is_help=True, help="Audit maintenance", rich_markup_mode=HELP)
backups_app = typer.Typer(no_args_is_help=True, rich_markup_mode=HELP,
                          help="Backups: erase again what the suppression ledger covers")  # fmt: skip
discover_app = typer.Typer(no_args_is_help=True, rich_markup_mode=HELP,
                           help="PI discovery: scan stores for PI the data map misses")  # fmt: skip
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(discover_app, name="discover")
app.add_typer(backups_app, name="backups")
app.add_typer(db_app, name="db")
backups_app.command("reapply")(backups_reapply)
discover_app.command("scan")(discover_scan)
app.add_typer(gpp_app, name="gpp", help="Decode and encode IAB GPP and US Privacy strings")
console = Console()

try:  # development tooling (the local stack, the demo) is not part of a production image
    from devtools.cli import mount
except ImportError:  # pragma: no cover - only in an image without devtools
    pass
else:
    mount(app)


def use_local_stack_settings() -> None:
    """With devtools present, settings the environment lacks come from the local stack's files (it says so)."""
    try:
        from devtools.local.stackenv import use_local_stack
    except ImportError:  # pragma: no cover - only in an image without devtools
        return
    use_local_stack()


for group in (keys_app, audit_app, discover_app, backups_app):
    group.callback()(use_local_stack_settings)


@app.command(help=f"Run one service in the foreground: {', '.join(SERVICES)}.")
def serve(
    service: Annotated[str, typer.Argument(metavar="SERVICE", help=f"One of {', '.join(SERVICES)}")],
) -> None:
    from services.common.serve import serve as run_service

    run_service(service)


@keys_app.command("shred")
def keys_shred(
    subject_key: Annotated[str, typer.Argument(metavar="SUBJECT_KEY", help="64 hex characters, as audit shows it")],
) -> None:
    """Destroy a subject's data keys: every copy of their encrypted identifiers becomes unreadable."""
    from services.common.crypto import KeyStore
    from services.common.db import make_engine
    from services.common.settings import CommonSettings

    settings = CommonSettings()
    store = KeyStore(make_engine(settings.keystore_url), settings.master_key_bytes(), settings.active_master_key)
    console.print(f"shredded {store.shred_subject(subject_key)} data key(s) of subject {subject_key}")


@keys_app.command("rewrap")
def keys_rewrap() -> None:
    """Re-wrap every live data key under CCPA_ACTIVE_MASTER_KEY, so an old master key can be retired."""
    from services.common.crypto import KeyStore
    from services.common.db import make_engine
    from services.common.settings import CommonSettings

    settings = CommonSettings()
    store = KeyStore(make_engine(settings.keystore_url), settings.master_key_bytes(), settings.active_master_key)
    console.print(f"re-wrapped {store.rewrap_all()} data key(s) under {settings.active_master_key}")


@audit_app.command("rebuild")
def audit_rebuild(
    database_url: str = typer.Option(..., metavar="URL", help="Empty database to rebuild the timeline into"),
) -> None:
    """Replay every topic from the beginning into a fresh audit database."""
    from services.audit.rebuild import rebuild
    from services.audit.settings import AuditSettings

    settings = AuditSettings(database_url=database_url)
    count = rebuild(settings)
    console.print(f"rebuilt the timeline from {count} events into {database_url}")


def name_placeholders(command: object) -> None:
    """Every option taking a value shows a name for it (`--store STORE`, argparse's habit) unless it declares
    one (`--datamap FILE`): never a bare type such as `<str>` or `<int range>`."""
    for param in getattr(command, "params", []):
        if isinstance(param, TyperOption) and not param.is_flag and not param.count and param.metavar is None:
            param.metavar = (param.name or "value").upper()
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            name_placeholders(sub)


def cli() -> TyperGroup:
    """The `ccpa` command as click runs it."""
    command = typer.main.get_command(app)
    assert isinstance(command, TyperGroup)
    name_placeholders(command)
    return command


def main() -> None:
    cli()()


if __name__ == "__main__":
    main()
