"""`ccpa backups reapply --store NAME`: after a backup is restored into a store, erase again what the suppression
ledger says was erased. Exit codes: 0 done, 1 the store could not be erased, 2 bad input (data map, keys, ledger).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from services.common.datamap import DataMapError, load_datamap
from services.common.db import make_engine
from services.common.stores.base import StoreUnavailable
from services.deletion.erasure.holds import LegalHold, LegalHolds
from services.deletion.erasure.keys import erasure_keys
from services.deletion.erasure.ledger import Ledger
from services.deletion.erasure.outcome import ErasureError
from services.deletion.erasure.reapply import ReapplyOutcome, reapply

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def backups_reapply(
    store: Annotated[str, typer.Option("--store", help="The data-map store a backup was restored into")],
    datamap: Annotated[Path, typer.Option("--datamap", help="The data map (YAML)")],
    ledger_url: Annotated[
        str, typer.Option("--ledger-url", envvar="CCPA_DATABASE_URL", help="Database of the suppression ledger")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be erased; change nothing")] = False,
) -> None:
    """Erase again, in a restored store, exactly the records whose identifiers the suppression ledger covers.

    Keys: CCPA_LEDGER_KEY and CCPA_DEIDENTIFY_KEY, or both derived from CCPA_SUBJECT_KEY_SECRET.
    """
    errors = Console(stderr=True)
    try:
        loaded = load_datamap(datamap)
        keys = erasure_keys(os.environ)
    except (DataMapError, ValueError) as exc:
        errors.print(str(exc), highlight=False, markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    engine = make_engine(ledger_url)
    try:
        _require_ledger(engine, errors)
        result = reapply(store, loaded, Ledger(engine, keys.ledger), hmac_key=keys.deidentify,
                         holds=_active_holds(engine), dry_run=dry_run)  # fmt: skip
    except ValueError as exc:
        errors.print(str(exc), highlight=False, markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except (StoreUnavailable, ErasureError) as exc:
        errors.print(f"reapply did not complete: {exc}", highlight=False, markup=False)
        raise typer.Exit(EXIT_FAILED) from None
    finally:
        engine.dispose()
    show(result, Console())


def show(result: ReapplyOutcome, console: Console) -> None:
    verb = "would be" if result.dry_run else "were"
    table = Table(title=f"Store {result.store}: records that {verb} erased again", title_justify="left")
    for column in ("collection", "action", "records"):
        table.add_column(column, justify="right" if column == "records" else "left")
    for collection, actions in result.outcome.counts.items():
        for action, records in sorted(actions.items()):
            table.add_row(collection, action, str(records))
    console.print(table)
    for item in result.outcome.exempt:
        until = f" until {item.retain_until:%Y-%m-%d}" if item.retain_until else ""
        console.print(f"kept: {item.collection}, {item.records} record(s), {item.reason}{until}", highlight=False)
    scanned = ", ".join(f"{kind} {count}" for kind, count in sorted(result.scanned.items())) or "none"
    covered = ", ".join(f"{kind} {count}" for kind, count in sorted(result.covered.items())) or "none"
    console.print(f"identifier values read: {scanned}; covered by the ledger: {covered}", highlight=False)
    if result.dry_run:
        console.print("dry run: nothing was changed", highlight=False)


def _require_ledger(engine: sa.Engine, errors: Console) -> None:
    try:
        present = sa.inspect(engine).has_table("suppression_ledger")
    except sa.exc.DBAPIError as exc:
        errors.print(f"cannot open the ledger database: {type(exc.orig).__name__}", highlight=False, markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if not present:
        errors.print("no suppression_ledger table in that database: is it the deletion service's database?",
                     highlight=False, markup=False)  # fmt: skip
        raise typer.Exit(EXIT_BAD_INPUT)


def _active_holds(engine: sa.Engine) -> tuple[LegalHold, ...]:
    if not sa.inspect(engine).has_table("legal_holds"):
        return ()
    return LegalHolds(engine).active()
