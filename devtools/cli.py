"""The development verbs of `ccpa`: the local stack and the demo company, mounted by services/cli.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from devtools.demo.cli import demo_generate, demo_subjects

stack_app = typer.Typer(no_args_is_help=True, help="The local stack: Kafka and every service, in the background")
demo_app = typer.Typer(no_args_is_help=True, help="The demo company and scenario")
demo_app.command("generate")(demo_generate)
demo_app.command("subjects")(demo_subjects)
console = Console()

LOCAL_DIR = Path(os.environ.get("CCPA_LOCAL_DIR", ".local"))


def mount(app: typer.Typer) -> None:
    """Add the `stack` and `demo` groups to the product CLI."""
    app.add_typer(stack_app, name="stack")
    app.add_typer(demo_app, name="demo")


@stack_app.command("up")
def stack_up(
    regenerate_demo: Annotated[
        bool, typer.Option("--regenerate-demo", help="Generate a new demo company over the existing one (stop first)")
    ] = False,
) -> None:
    """Start Kafka (unless KAFKA_BOOTSTRAP_SERVERS is set) and every service; print addresses and the API token."""
    from devtools.local.stack import SERVICES, LocalStack

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
    from devtools.local.stack import LocalStack

    stopped = LocalStack(LOCAL_DIR).down()
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@stack_app.command("status")
def stack_status() -> None:
    """Which services of the local stack run."""
    from devtools.local.stack import LocalStack

    for name, state in LocalStack(LOCAL_DIR).status().items():
        console.print(f"{name}: {state}")


@demo_app.command("run")
def demo_run() -> None:
    """Submit requests of every type to the running local stack and print their timelines."""
    from devtools.demo import scenario
    from devtools.demo.generator import DemoTarget, demo_env
    from devtools.local import secrets
    from devtools.local.stack import SERVICES, LocalStack

    stack = LocalStack(LOCAL_DIR)
    urls = {spec.name: stack.url(spec) for spec in SERVICES}
    token = secrets.load_or_create(LOCAL_DIR / "secrets.json")["CCPA_API_TOKEN"]
    target = DemoTarget.from_manifest(LOCAL_DIR / "demo" / "manifest.json")
    app_db = Path(target.app_db_url.removeprefix("sqlite:///"))
    scenario.run(urls["intake"], urls["audit"], token, app_db, demo_env(target))
