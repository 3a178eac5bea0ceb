"""`ccpa demo generate` and `ccpa demo subjects`: build the demo company's stores, list who is in them.

Registered on the `demo` group of services/cli.py.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

from devtools.demo.generator import DemoGenerationError, DemoTarget, demo_env, generate_company
from devtools.demo.subjects import list_subjects

console = Console()
DEFAULT_DIR = Path(".local/demo")


def demo_generate(
    subjects: Annotated[
        int, typer.Option("--subjects", "-n", min=1, metavar="N", help="How many subjects (customers)")
    ] = 1_000,
    seed: Annotated[
        int, typer.Option(metavar="N", help="Random seed; the same seed and count give the same company")
    ] = 7,
    directory: Annotated[
        Path, typer.Option("--dir", metavar="DIR", help="SQLite files, logs, provider data, manifest")
    ] = DEFAULT_DIR,
    redis_url: Annotated[
        str, typer.Option(envvar="DEMO_REDIS_URL", metavar="URL", help="Session cache")
    ] = "redis://127.0.0.1:6379/0",
    app_db_url: Annotated[
        str | None, typer.Option(envvar="DEMO_APP_DB_URL", metavar="URL", help="Default: SQLite in --dir")
    ] = None,
    marketing_db_url: Annotated[
        str | None, typer.Option(envvar="DEMO_MARKETING_DB_URL", metavar="URL", help="Default: SQLite in --dir")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Regenerate even if the manifest matches")] = False,
) -> None:
    """Generate the demo company's stores: app and marketing databases, Redis sessions, access logs, providers."""
    target = DemoTarget.in_directory(directory, redis_url, app_db_url, marketing_db_url)
    try:
        company = generate_company(target, subjects, seed, progress=True, force=force)
    except DemoGenerationError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    if company.reused:
        console.print(f"{subjects} subjects (seed {seed}) already generated in {directory}; --force to redo")
    else:
        _print_counts(company.counts, company.elapsed_seconds)
    env_file = _write_env_file(target)
    console.print(f"manifest: {target.manifest_path}\nenvironment: source {env_file}")


def demo_subjects(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, metavar="N", help="How many subjects to list")] = 10,
    output: Annotated[str, typer.Option("--format", metavar="table|json", help="table or json")] = "table",
    everywhere: Annotated[bool, typer.Option("--everywhere", help="Only subjects present in every store")] = False,
    directory: Annotated[
        Path, typer.Option("--dir", metavar="DIR", help="Where `ccpa demo generate` wrote the company")
    ] = DEFAULT_DIR,
) -> None:
    """Identifiers of subjects in the generated demo data (account id, email, phone, a device id)."""
    if output not in ("table", "json"):
        raise typer.BadParameter(f"expected table or json, got {output!r}", param_hint="--format")
    try:
        target = DemoTarget.from_manifest(directory / "manifest.json")
    except DemoGenerationError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    found = list_subjects(target.app_db_url, limit, everywhere)
    if output == "json":
        typer.echo(json.dumps([asdict(subject) | {"everywhere": subject.everywhere} for subject in found], indent=2))
        return
    table = Table(
        *(Column(name, overflow="fold") for name in ("account_id", "email", "phone", "device_id")), "everywhere"
    )
    for subject in found:
        table.add_row(
            subject.account_id, subject.email, subject.phone, subject.device_id or "", _yes(subject.everywhere)
        )
    console.print(table)


def _print_counts(counts: Mapping[str, int], elapsed: float) -> None:
    table = Table("store.collection", "records", title=f"generated in {elapsed:.1f} s")
    for name, count in counts.items():
        table.add_row(name, f"{count:,}")
    console.print(table)


def _write_env_file(target: DemoTarget) -> Path:
    path = target.manifest_path.with_name("demo.env")
    path.write_text("".join(f"export {name}={shlex.quote(value)}\n" for name, value in demo_env(target).items()))
    path.chmod(0o600)  # holds the providers' tokens
    return path


def _yes(flag: bool) -> str:
    return "yes" if flag else ""
