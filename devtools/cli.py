"""The development verbs of `ccpa`: the local stack and the demo company, mounted by services/cli.py."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import httpx
import typer
from rich.console import Console

from devtools.demo.cli import demo_generate, demo_subjects
from devtools.local.stackenv import local_dir, use_local_stack

if TYPE_CHECKING:
    from devtools.local.stack import LocalStack

stack_app = typer.Typer(no_args_is_help=True, help="The local stack: Kafka, Redis and every service, in the background")
demo_app = typer.Typer(no_args_is_help=True, help="The demo company and scenario")
demo_app.command("generate")(demo_generate)
demo_app.command("subjects")(demo_subjects)
console = Console()
errors = Console(stderr=True, highlight=False)


def mount(app: typer.Typer) -> None:
    """Add the `stack` and `demo` groups to the product CLI."""
    app.add_typer(stack_app, name="stack")
    app.add_typer(demo_app, name="demo")


@stack_app.callback()
def stack_settings(ctx: typer.Context) -> None:
    """Every verb but `up` (which records them) works on the settings the running stack was started with."""
    if ctx.invoked_subcommand != "up":
        use_local_stack()


@demo_app.callback()
def demo_settings(ctx: typer.Context) -> None:
    """The demo runs against the stack as `up` started it (ports, broker), whatever the shell exports."""
    if ctx.invoked_subcommand == "run":
        use_local_stack()


@stack_app.command("up")
def stack_up(
    regenerate_demo: Annotated[
        bool, typer.Option("--regenerate-demo", help="Generate a new demo company over the existing one (stop first)")
    ] = False,
    all_in_one: Annotated[
        bool, typer.Option("--all-in-one", help="The services in one process (ccpa serve all); $CCPA_STACK_ALL_IN_ONE")
    ] = False,
) -> None:
    """Start Kafka (unless KAFKA_BOOTSTRAP_SERVERS is set), Redis and every service; print addresses and the token."""
    from devtools.local.stack import SERVICES, LocalStack

    stack = LocalStack(local_dir(), all_in_one=all_in_one or None)
    try:
        env = stack.up(regenerate_demo)
    except Exception as exc:  # the command's boundary: a person reads this, not a traceback
        _failed("stack up", exc, stack.logs, "the processes started so far keep running; `make down` stops them")
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
            else "a demo site, no API" if spec.name.startswith("demo-")
            else "OpenAPI /openapi.json, token"
        )  # fmt: skip
        where = f"{stack.url(spec)}  ({docs})" if spec.http else "running (no HTTP)"
        console.print(f"{spec.name}: {where}")
    if mails := stack.mail_viewer_url():
        console.print(f"Mails sent to consumers: {mails}")
    console.print(f"API token (operator): {stack.secrets()['CCPA_API_TOKEN']}")
    console.print(f"Settings of this stack for the ccpa commands (they read it themselves): {stack.root / 'stack.env'}")
    console.print(f"Logs: {stack.logs}   Stop with: make down")


@stack_app.command("down")
def stack_down() -> None:
    """Stop exactly the processes `up` recorded."""
    from devtools.local.stack import LocalStack

    stopped = LocalStack(local_dir()).down()
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@stack_app.command("status")
def stack_status() -> None:
    """Every process of the local stack (Kafka, Redis, providers, services): address and state."""
    from devtools.local.stack import LocalStack

    for name, state in LocalStack(local_dir()).status().items():
        console.print(f"{name}: {state}", highlight=False)


@demo_app.command("run")
def demo_run() -> None:
    """Submit requests of every type to the running local stack and print their timelines."""
    from devtools.demo import scenario
    from devtools.demo.console_account import DEMO_OPERATOR, demo_operator_password
    from devtools.demo.generator import DemoTarget, demo_env
    from devtools.local import secrets
    from devtools.local.stack import SERVICES, LocalStack
    from services.console.cli import console_store

    stack = LocalStack(local_dir())
    urls = {spec.name: stack.url(spec) for spec in SERVICES}
    try:
        token = secrets.load_or_create(stack.root / "secrets.json")["CCPA_API_TOKEN"]
        target = DemoTarget.from_manifest(stack.root / "demo" / "manifest.json")
        app_db = Path(target.app_db_url.removeprefix("sqlite:///"))
        waiting = scenario.run(urls["intake"], urls["audit"], token, app_db, demo_env(target))
        with console_store() as store:
            password = demo_operator_password(stack.root, store)
    except Exception as exc:  # the command's boundary: a person reads this, not a traceback
        _failed("the demo", exc, stack.logs, _stack_state(stack))
    console.print(f"The privacy center (what a consumer sees): {urls['intake']}/privacy/", highlight=False)
    console.print(f"The demo storefront (its ad tag never loads with GPC on; `ccpa monitor gpc` checks it): "
                  f"{urls['demo-storefront']}/", highlight=False)  # fmt: skip
    console.print(f"The operator console: {urls['console']}/  sign in as {DEMO_OPERATOR} / {password}",
                  highlight=False, soft_wrap=True)  # fmt: skip
    console.print(f"Waiting for an operator: request {waiting.correction}, a correction whose answer is held for "
                  f"review (approve or deny it), and request {waiting.deletion}, a deletion whose manual recipients "
                  "await their confirmation", highlight=False, soft_wrap=True)  # fmt: skip
    console.print(f"The stack stays up for you to explore (intake's API {urls['intake']}/docs; the internal "
                  "services' OpenAPI answers the operator token printed by `make up`): "
                  "`make down` stops it.")  # fmt: skip
    if mails := stack.mail_viewer_url():
        console.print(f"Mails sent to consumers: {mails}")


def _stack_state(stack: LocalStack) -> str:
    running = [name for name, state in stack.status().items() if state.startswith("running")]
    if running:
        return "the stack is still running (`make status` lists it); `make down` stops it"
    return "the stack is not running: `make up` starts it, `make run` starts it and runs the demo"


def _failed(what: str, exc: Exception, logs: Path, state: str) -> NoReturn:
    """Say what failed, where the logs are and what is left running; keep the traceback in a log, exit 1."""
    logs.mkdir(parents=True, exist_ok=True)
    trace = logs / "cli.log"
    with trace.open("a", encoding="utf-8") as sink:
        sink.write("".join(traceback.format_exception(exc)))
    errors.print(f"[red]{what} failed[/red]: {_describe(exc)}")
    errors.print(f"  logs: {logs} (one file per process; this failure's traceback: {trace})")
    errors.print(f"  {state}")
    raise typer.Exit(1)


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        request = exc.request
        return f"{request.method} {request.url} answered {exc.response.status_code}: {exc.response.text[:300]}"
    if isinstance(exc, httpx.TransportError):
        return f"{type(exc).__name__} talking to the stack ({exc}); is it up?"
    return str(exc) or type(exc).__name__
