"""The demo company's nightly co-op export (flow coop-export, a sale: the DoorDash 2024 pattern), gated: it reads
marketing-db.subscribers and writes the co-marketing partner's CSV through the decision library's ExportGate, so an
opted-out subscriber is never in it and each one held back is a FlowBlocked on their opt-out's timeline.

`python -m devtools.demo.coop_export --out FILE` (CCPA_* settings as any service, DEMO_MARKETING_DB_URL)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer

from services.common.crypto import subject_key_of
from services.common.flows.enforcement import Enforcement, refusal
from services.common.flows.gates import ExportGate, ExportResult
from services.common.identity import IdentifierKind, normalise

FLOW = "coop-export"
COLUMNS = ("email", "zip")


def subscribers(marketing_db_url: str) -> Iterator[dict[str, str]]:
    """The subscribers' email and ZIP code, in a stable order."""
    engine = sa.create_engine(marketing_db_url)
    try:
        table = sa.Table("subscribers", sa.MetaData(), autoload_with=engine)
        with engine.connect() as conn:
            query = sa.select(table.c.email, table.c.zip).order_by(table.c.subscriber_id)
            for email, zip_code in conn.execute(query):
                yield {"email": email, "zip": zip_code or ""}
    finally:
        engine.dispose()


def email_key(secret: bytes) -> Callable[[dict[str, str]], str]:
    """A record's subject key: the keyed hash of its normalised email, as intake derives it."""
    return lambda row: subject_key_of(secret, IdentifierKind.EMAIL, normalise(IdentifierKind.EMAIL, row["email"]))


def export(gate: ExportGate, rows: Iterable[dict[str, str]], secret: bytes, out: Path) -> ExportResult:
    """Write the partner's CSV of the rows the gate allows (then flush the evidence)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as sink:
        writer = csv.DictWriter(sink, fieldnames=COLUMNS)
        writer.writeheader()
        return gate.run(rows, email_key(secret), writer.writerow)


def main(
    out: Annotated[Path, typer.Option("--out", help="The partner's CSV file to write")],
    marketing_db_url: Annotated[str, typer.Option(envvar="DEMO_MARKETING_DB_URL", help="The marketing database")],
) -> None:
    """Export the subscribers to the co-marketing partner through the gate."""
    try:
        enforcement = Enforcement.start(FLOW)
    except Exception as exc:  # a refused data map or settings, or a cache that cannot catch up: one line
        typer.echo(f"coop export refused: {refusal(exc)}", err=True)
        raise typer.Exit(1) from None
    try:
        secret = enforcement.settings.subject_key_bytes()
        result = export(enforcement.export_gate(FLOW), subscribers(marketing_db_url), secret, out)
    except (OSError, sa.exc.SQLAlchemyError) as exc:
        typer.echo(f"coop export failed: {type(exc).__name__}", err=True)
        raise typer.Exit(1) from None
    finally:
        enforcement.close()
    typer.echo(f"exported {result.written} subscribers to {out}; {result.blocked} held back by their opt-out")


if __name__ == "__main__":
    typer.run(main)
