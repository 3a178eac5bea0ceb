"""`ccpa`: run a service, the local stack, the demo, and key and audit maintenance."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from services.deletion.cli import backups_reapply
from services.demo.cli import demo_generate, demo_subjects
from services.discovery.scanner.cli import discover_scan
from services.optout.gpp_cli import gpp_app

app = typer.Typer(no_args_is_help=True, help="CCPA privacy pipeline")
stack_app = typer.Typer(no_args_is_help=True, help="The local stack: Kafka and every service, in the background")
demo_app = typer.Typer(no_args_is_help=True, help="The demo company and scenario")
keys_app = typer.Typer(
    no_args_is_help=True, help="Key management: shred a subject's data key, re-wrap under a new master key"
)
audit_app = typer.Typer(no_args_is_help=True, help="Audit maintenance")
backups_app = typer.Typer(no_args_is_help=True, help="Backups: erase again what the suppression ledger covers")
discover_app = typer.Typer(no_args_is_help=True, help="PI discovery: scan stores for PI the data map misses")
app.add_typer(stack_app, name="stack")
app.add_typer(demo_app, name="demo")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(discover_app, name="discover")
app.add_typer(backups_app, name="backups")
backups_app.command("reapply")(backups_reapply)
demo_app.command("generate")(demo_generate)
demo_app.command("subjects")(demo_subjects)
discover_app.command("scan")(discover_scan)
app.add_typer(gpp_app, name="gpp", help="Decode and encode IAB GPP and US Privacy strings")
console = Console()

LOCAL_DIR = Path(os.environ.get("CCPA_LOCAL_DIR", ".local"))


@app.command()
def serve(service: str) -> None:
    """Run one service in the foreground (intake, audit, discovery, optout)."""
    from services.common.serve import serve as run_service

    run_service(service)


@stack_app.command("up")
def stack_up(
    regenerate_demo: Annotated[
        bool, typer.Option("--regenerate-demo", help="Generate a new demo company over the existing one (stop first)")
    ] = False,
) -> None:
    """Start Kafka (unless KAFKA_BOOTSTRAP_SERVERS is set) and every service; print addresses and the API token."""
    from services.local.stack import SERVICES, LocalStack

    stack = LocalStack(LOCAL_DIR)
    env = stack.up(regenerate_demo)
    demo = stack.demo
    if demo is not None and demo.reused:
        console.print(f"Demo company: kept the existing demo company ({demo.subjects} subjects, seed {demo.seed}) "
                      "with what was deleted and corrected in it; --regenerate-demo makes a new one")  # fmt: skip
    elif demo is not None:
        console.print(f"Demo company: generated {demo.subjects} subjects in {demo.elapsed_seconds:.0f} s")
    console.print(f"Kafka: {env['KAFKA_BOOTSTRAP_SERVERS']}")
    for spec in SERVICES:
        docs = (
            "docs /docs"
            if spec.name == "intake" or spec.name.startswith("provider-")
            else "OpenAPI /openapi.json, token"
        )
        where = f"{stack.url(spec)}  ({docs})" if spec.http else "running (no HTTP)"
        console.print(f"{spec.name}: {where}")
    console.print(f"API token (operator): {stack.secrets()['CCPA_API_TOKEN']}")
    console.print(f"Logs: {stack.logs}   Stop with: make down")


@stack_app.command("down")
def stack_down() -> None:
    """Stop exactly the processes `up` recorded."""
    from services.local.stack import LocalStack

    stopped = LocalStack(LOCAL_DIR).down()
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@stack_app.command("status")
def stack_status() -> None:
    """Which services of the local stack run."""
    from services.local.stack import LocalStack

    for name, state in LocalStack(LOCAL_DIR).status().items():
        console.print(f"{name}: {state}")


@demo_app.command("run")
def demo_run() -> None:
    """Submit requests of every type to the running local stack and print their timelines."""
    from services.demo import scenario
    from services.demo.generator import DemoTarget, demo_env
    from services.local import secrets
    from services.local.stack import SERVICES, LocalStack

    stack = LocalStack(LOCAL_DIR)
    urls = {spec.name: stack.url(spec) for spec in SERVICES}
    token = secrets.load_or_create(LOCAL_DIR / "secrets.json")["CCPA_API_TOKEN"]
    target = DemoTarget.from_manifest(LOCAL_DIR / "demo" / "manifest.json")
    app_db = Path(target.app_db_url.removeprefix("sqlite:///"))
    scenario.run(urls["intake"], urls["audit"], token, app_db, demo_env(target))


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
