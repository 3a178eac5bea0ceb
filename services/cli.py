"""`ccpa`: run a service, key and audit maintenance; the local stack and the demo when devtools is present."""

from __future__ import annotations

import typer
from rich.console import Console

from services.common.migrations_cli import db_app
from services.deletion.cli import backups_reapply
from services.discovery.scanner.cli import discover_scan
from services.optout.gpp_cli import gpp_app

app = typer.Typer(no_args_is_help=True, help="CCPA privacy pipeline")
keys_app = typer.Typer(
    no_args_is_help=True, help="Key management: shred a subject's data key, re-wrap under a new master key"
)
audit_app = typer.Typer(no_args_is_help=True, help="Audit maintenance")
backups_app = typer.Typer(no_args_is_help=True, help="Backups: erase again what the suppression ledger covers")
discover_app = typer.Typer(no_args_is_help=True, help="PI discovery: scan stores for PI the data map misses")
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


@app.command()
def serve(service: str) -> None:
    """Run one service in the foreground (intake, audit, discovery, optout)."""
    from services.common.serve import serve as run_service

    run_service(service)


@keys_app.command("shred")
def keys_shred(subject_key: str) -> None:
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
    database_url: str = typer.Option(..., help="Empty database to rebuild the timeline into"),
) -> None:
    """Replay every topic from the beginning into a fresh audit database."""
    from services.audit.rebuild import rebuild
    from services.audit.settings import AuditSettings

    settings = AuditSettings(database_url=database_url)
    count = rebuild(settings)
    console.print(f"rebuilt the timeline from {count} events into {database_url}")


if __name__ == "__main__":
    app()
