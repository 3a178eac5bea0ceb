"""The figures of a chaos run, each beside its target, and the table that shows them. Pure but for `render`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

MAX_SECONDS = 30.0  # every request answered within this long of the last recovery; no stall longer after a kill


@dataclass(frozen=True)
class Figures:
    submitted: int
    accepted: int  # 202s, each request counted once however often it was retried
    answered: int  # RequestCompleted or RequestDenied on the timeline
    complete: int  # every expected event type on the timeline
    duplicate_event_ids: int
    duplicate_effects: int  # a once-only event (answer, report, completion) twice on a timeline
    double_effects: int  # instructions a provider applied that no request accounts for, or applied twice
    deletions: int  # verified delete requests accepted
    deletions_verified: int  # of those, DeletionVerified verified=true on the timeline
    longest_stall: float | None  # seconds from a kill to the next request answered; None: no kill measured
    settle: float | None  # last answer after max(last recovery, last 202), seconds; None: not all answered
    crashed: int = 0  # processes that exited without being killed


@dataclass(frozen=True)
class Row:
    figure: str
    value: str
    target: str
    met: bool


def rows(f: Figures) -> list[Row]:
    """One row per figure, in the order of the issue's table."""
    lost = f.accepted - f.answered
    return [
        Row("accepted (202)", f"{f.accepted:,} of {f.submitted:,}", f"all {f.submitted:,}", f.accepted == f.submitted),
        Row("answered", f"{f.answered:,} ({lost:,} lost)", f"all {f.accepted:,}, 0 lost", lost == 0),
        Row("complete timelines", f"{f.complete:,}", f"all {f.accepted:,}", f.complete == f.accepted),
        Row("duplicate event_ids on timelines", f"{f.duplicate_event_ids:,}", "0", f.duplicate_event_ids == 0),
        Row("once-only events twice on a timeline", f"{f.duplicate_effects:,}", "0", f.duplicate_effects == 0),
        Row("double effects at providers", f"{f.double_effects:,}", "0", f.double_effects == 0),
        Row("deletions verified", f"{f.deletions_verified:,} of {f.deletions:,}", f"all {f.deletions:,}",
            f.deletions_verified == f.deletions),
        Row("longest stall after a kill", _seconds(f.longest_stall), f"≤ {MAX_SECONDS:.0f} s",
            f.longest_stall is not None and f.longest_stall <= MAX_SECONDS),
        Row("last answer after the last recovery", _seconds(f.settle), f"≤ {MAX_SECONDS:.0f} s",
            f.settle is not None and f.settle <= MAX_SECONDS),
        Row("processes that exited on their own", f"{f.crashed:,}", "0", f.crashed == 0),
    ]  # fmt: skip


def all_met(table: Sequence[Row]) -> bool:
    return all(row.met for row in table)


def _seconds(value: float | None) -> str:
    return "never" if value is None or value == float("inf") else f"{value:.1f} s"


def render(table: Sequence[Row], console: Console, title: str) -> None:
    shown = Table(title=title)
    for column, justify in (("figure", "left"), ("value", "right"), ("target", "right"), ("", "left")):
        shown.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in table:
        shown.add_row(row.figure, row.value, row.target, "[green]met[/]" if row.met else "[red]MISSED[/]")
    console.print(shown)
