"""`ccpa`: run a service, key and audit maintenance; the local stack and the demo when devtools is present."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from typer.core import TyperGroup, TyperOption

from services.common.datamap.cli import datamap_app
from services.common.migrations_cli import db_app
from services.common.policy.cli import check_app
from services.common.serve import SERVICES
from services.console.cli import console_app
from services.deletion.cli import backups_reapply
from services.discovery.scanner.cli import discover_scan
from services.intake.cli import keys_shred
from services.monitor.cli import monitor_app
from services.optout.gpp_cli import gpp_app

if TYPE_CHECKING:
    from services.audit.settings import AuditSettings

T = TypeVar("T")
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
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
app.add_typer(datamap_app, name="datamap")
backups_app.command("reapply")(backups_reapply)
keys_app.command("shred")(keys_shred)
discover_app.command("scan")(discover_scan)
app.add_typer(gpp_app, name="gpp", help="Decode and encode IAB GPP and US Privacy strings")
app.add_typer(console_app, name="console")
app.add_typer(monitor_app, name="monitor")
app.add_typer(check_app, name="check")
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


for group in (keys_app, audit_app, discover_app, backups_app, console_app, datamap_app, monitor_app):
    group.callback()(use_local_stack_settings)


ROLE_HELP = (
    "all (the API and every worker), worker (consumers, loops and relays; only /healthz /readyz /metrics "
    "on the port) or http (the API, nothing that reads Kafka); default: $CCPA_SERVICE_ROLE, else all"
)


WORKERS_HELP = (
    "processes answering on the port (1 to 64); the first runs in ROLE with every worker, the others the API only "
    "(http), so one outbox relay publishes; default: $CCPA_HTTP_WORKERS, else 1"
)
SERVICES_HELP = (
    "With `all`: the services to run in the one process, comma-separated; default: $CCPA_ALL_IN_ONE_SERVICES, "
    "else every one"
)


@app.command(help=f"Run one service in the foreground: {', '.join(SERVICES)}; or `all`, every one in one process.")
def serve(
    service: Annotated[str, typer.Argument(metavar="SERVICE", help=f"One of {', '.join(SERVICES)}, or all")],
    role: Annotated[str | None, typer.Option(metavar="ROLE", help=ROLE_HELP)] = None,
    workers: Annotated[int | None, typer.Option(metavar="N", help=WORKERS_HELP)] = None,
    services: Annotated[str | None, typer.Option(metavar="LIST", help=SERVICES_HELP)] = None,
) -> None:
    import os

    from services.common.serve import serve_workers, workers_of

    if services is not None:
        os.environ["CCPA_ALL_IN_ONE_SERVICES"] = services
    serve_workers(service, role, workers_of(workers))


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
    now: Annotated[str | None, typer.Option(metavar="INSTANT", help="Purge as at this ISO 8601 instant")] = None,
) -> None:
    """Restore the snapshot topic, replay every topic from the beginning into a fresh audit database, then purge
    what is past retention."""
    from services.audit.rebuild import rebuild

    instant = _instant(now)
    count = rebuild(audit_settings(database_url), instant)
    console.print(f"rebuilt the timeline from {count} events into {database_url}")


def _instant(text: str | None) -> Any:
    """An ISO 8601 instant with its offset (None: now), or a refusal naming the option."""
    from datetime import UTC, datetime

    if text is None:
        return datetime.now(UTC)
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit("--now must be an ISO 8601 instant, e.g. 2027-01-31T00:00:00+00:00") from None
    if instant.tzinfo is None:
        raise SystemExit("--now must name its offset from UTC, e.g. 2027-01-31T00:00:00+00:00")
    return instant


OtherDatabase = Annotated[str | None, typer.Option(metavar="URL", help="Another audit database than audit's own")]


def audit_settings(database_url: str | None) -> AuditSettings:
    """Audit's settings, another database's URL if given; a refusal for people when they are incomplete."""
    from pydantic import ValidationError

    from services.audit.settings import AuditSettings
    from services.common.settings import refused_settings

    try:
        return AuditSettings(database_url=database_url) if database_url else AuditSettings()
    except ValidationError as exc:
        raise SystemExit(refused_settings("ccpa audit", AuditSettings, exc)) from None


@audit_app.command("verify")
def audit_verify(
    database_url: OtherDatabase = None,
) -> None:
    """Walk every chain and checkpoint; exit 1 naming the first entry edited, deleted, inserted or reordered."""
    from services.audit.verify import verify
    from services.common.db import make_engine

    settings = audit_settings(database_url)
    engine = make_engine(settings.database_url)
    try:
        verdict = verify(engine, settings.verify_keys())
    finally:
        engine.dispose()
    for problem in verdict.problems:
        console.print(f"TAMPERED {problem}", highlight=False, soft_wrap=True)
    state = "intact" if verdict.intact else f"broken ({len(verdict.problems)} chain(s) or checkpoint(s))"
    counts = f"{verdict.entries} entries, {verdict.checkpoints} signed checkpoint(s)"
    console.print(f"audit chain {state}: {counts}, {verdict.uncovered} entries after the last checkpoint",
                  highlight=False, soft_wrap=True)  # fmt: skip
    raise typer.Exit(0 if verdict.intact else 1)


@audit_app.command("purge")
def audit_purge(
    database_url: OtherDatabase = None,
    now: Annotated[str | None, typer.Option(metavar="INSTANT", help="Purge as at this ISO 8601 instant")] = None,
) -> None:
    """Remove closed requests and request-less entries past CCPA_AUDIT_RETENTION_DAYS, sign a statement of each
    chain gap, and tombstone their snapshot keys (audit itself does this once a day)."""
    import sqlalchemy as sa

    from services.audit.snapshotter import purge_and_forget
    from services.common.db import make_engine
    from services.common.kafka import DeliveryFailed, EventProducer
    from services.common.topics import AUDIT_SNAPSHOTS, TopicNames

    instant, settings = _instant(now), audit_settings(database_url)
    engine = make_engine(settings.database_url)
    producer = EventProducer(settings.kafka_config(), client_id="ccpa-audit-purge")
    try:
        topic = TopicNames(settings.topic_namespace)(AUDIT_SNAPSHOTS)
        purged = purge_and_forget(engine, producer, topic, settings.signing_key(), instant, settings.retention_days)
    except sa.exc.OperationalError as exc:
        raise SystemExit(f"nothing purged: audit's database did not answer ({type(exc).__name__})") from None
    except DeliveryFailed:
        raise SystemExit("purged, but the tombstones of the purged snapshot keys did not reach Kafka: a rebuild "
                         "purges those keys again") from None  # fmt: skip
    finally:
        producer.close()
        engine.dispose()
    console.print(f"purged {purged.requests} closed request(s) and {purged.entries} entries older than "
                  f"{settings.retention_days} days; {purged.statements} signed purge statement(s)",
                  highlight=False)  # fmt: skip


@audit_app.command("proof")
def audit_proof(
    request_id: Annotated[str | None, typer.Argument(metavar="REQUEST_ID", help="The request to prove")] = None,
    check: Annotated[Path | None, typer.Option(metavar="FILE", help="Check a bundle offline instead")] = None,
    output: Annotated[Path | None, typer.Option(metavar="FILE", help="Write the bundle here (default: stdout)")] = None,
    database_url: OtherDatabase = None,
) -> None:
    """Export a request's proof bundle (entries, links, signed checkpoint, public key), or check one offline."""
    import json

    from services.audit import proof

    if check is not None:
        try:
            problems = proof.check(json.loads(check.read_text()))
        except (OSError, ValueError) as exc:
            raise SystemExit(f"cannot read the bundle {check}: {type(exc).__name__}") from None
        for problem in problems:
            console.print(f"DOES NOT HOLD {problem}", highlight=False, soft_wrap=True)
        if problems:
            raise typer.Exit(1)
        console.print(f"the bundle holds: signed by key {proof.key_id(json.loads(check.read_text()))}", highlight=False)
        return
    if request_id is None or not UUID_PATTERN.fullmatch(request_id):
        raise SystemExit("give a REQUEST_ID (a UUID, as the timeline shows it), or --check FILE")
    bundle = _export_proof(audit_settings(database_url), request_id)
    text = json.dumps(bundle, indent=2)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n")
        console.print(f"wrote the proof of {len(bundle['entries'])} entries to {output}", highlight=False)


def _export_proof(settings: AuditSettings, request_id: str) -> dict[str, Any]:
    from services.audit import proof
    from services.common.db import make_engine

    engine = make_engine(settings.database_url)
    try:
        return proof.export(engine, request_id, settings.signing_key(), settings.verify_keys())
    except proof.ProofError as exc:
        raise SystemExit(f"no proof for request {request_id}: {exc}") from None
    finally:
        engine.dispose()


class RecordsFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


class MetricsFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    HTML = "html"
    TABLE = "table"


RECEIVED_DATE = "a date of receipt, inclusive, as a Los Angeles calendar date"
OutputFile = Annotated[Path | None, typer.Option(metavar="FILE", help="Write here (default: stdout)")]


@audit_app.command("records")
def audit_records(
    received_from: Annotated[
        datetime, typer.Option("--from", formats=["%Y-%m-%d"], metavar="YYYY-MM-DD", help=f"First day: {RECEIVED_DATE}")
    ],
    received_to: Annotated[
        datetime, typer.Option("--to", formats=["%Y-%m-%d"], metavar="YYYY-MM-DD", help=f"Last day: {RECEIVED_DATE}")
    ],
    output_format: Annotated[RecordsFormat, typer.Option("--format", help="json or csv")] = RecordsFormat.JSON,
    output: OutputFile = None,
    database_url: OtherDatabase = None,
) -> None:
    """Export the §7101 records of the requests received from..to (Los Angeles dates), as the records API."""
    from services.audit import records

    try:
        query = records.RecordQuery(received_from.date(), received_to.date())
    except records.BadRecordQuery as bad:
        raise SystemExit(f"--{bad.parameter}: {bad.message}") from None
    found = _with_audit_db(audit_settings(database_url), lambda conn: records.every_record(conn, query))
    text = records.to_json(found) if output_format is RecordsFormat.JSON else records.to_csv(found)
    _write(text, output, f"wrote {len(found)} record(s)")


@audit_app.command("metrics")
def audit_metrics(
    year: Annotated[int, typer.Option(min=2020, max=2100, metavar="YEAR", help="Los Angeles calendar year")],
    output_format: Annotated[MetricsFormat, typer.Option("--format", help="json, csv, html or table")] = (
        MetricsFormat.TABLE
    ),
    output: OutputFile = None,
    database_url: OtherDatabase = None,
) -> None:
    """The §7102 figures of one year; how signal-only opt-outs count is CCPA_METRICS_SIGNAL_OPT_OUTS."""
    from services.audit import exports

    settings = audit_settings(database_url)
    counting = settings.metrics_signal_opt_outs
    table = _with_audit_db(settings, lambda conn: exports.metrics_of_year(conn, year, counting))
    if output_format is MetricsFormat.TABLE:
        if output is not None:
            raise SystemExit("--format table prints to the terminal; give json, csv or html with --output")
        console.print(exports.to_rich(table))
        return
    render = {
        MetricsFormat.JSON: exports.to_json,
        MetricsFormat.CSV: exports.to_csv,
        MetricsFormat.HTML: exports.to_html,
    }
    _write(render[output_format](table), output, f"wrote the §7102 figures of {year}")


def _with_audit_db(settings: AuditSettings, read: Callable[[Any], T]) -> T:
    import sqlalchemy as sa

    from services.common.db import make_engine

    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return read(conn)
    except sa.exc.SQLAlchemyError as exc:
        raise SystemExit(f"cannot read the audit database: {type(exc).__name__}") from None
    finally:
        engine.dispose()


def _write(text: str, output: Path | None, said: str) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text)
    except OSError as exc:
        raise SystemExit(f"cannot write {output}: {exc.strerror}") from None
    console.print(f"{said} to {output}", highlight=False)


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
