"""The results table: each figure beside its floor, the cost ratio, and the field's figure where there is one.

Ratios read as a cost multiple: "3.0x" means three times the floor's time per operation (for latencies
value/floor, for rates floor/value), so 1.0x is as cheap as the bare broker, database or HTTP stack.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

TIMES = "\u00d7"  # the ratio sign

Kind = Literal["latency", "rate", "size", "duration"]

FIDES_NOTE = (
    "Ethyca Fides 2.78.2 on this kind of machine, PostgreSQL on loopback, 100k customers (DESIGN.md §9): "
    "one access request 0.6-0.9 s, one erasure 1.4-1.9 s, ~1.5 requests/s sequentially, ~1.2 GiB with its "
    "worker. Fides' times are for executing the whole request against the data map; ours here stop at "
    "'durable' (intake) and 'audited' (timeline), so only the memory figure compares like with like."
)


@dataclass(frozen=True)
class Figure:
    """One row: `value` and `floor` in base units (seconds, requests/s, bytes)."""

    name: str
    kind: Kind
    value: float | None
    floor: float | None = None
    floor_name: str = ""
    field: str = ""

    @property
    def ratio(self) -> float | None:
        """Cost multiple of the floor: value/floor for latencies and durations, floor/value for rates."""
        if self.value is None or self.floor is None or self.value <= 0 or self.floor <= 0:
            return None
        return self.floor / self.value if self.kind == "rate" else self.value / self.floor


@dataclass(frozen=True)
class Report:
    machine: dict[str, Any]
    settings: dict[str, Any]
    figures: list[Figure]
    floors: list[Figure]
    details: dict[str, Any]
    notes: list[str]


def fmt(kind: Kind, value: float | None) -> str:
    if value is None:
        return "—"
    if kind in ("latency", "duration"):
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    if kind == "rate":
        return f"{value:,.0f} /s" if value >= 100 else f"{value:.1f} /s"
    return f"{value / 2**20:,.0f} MiB"


def fmt_ratio(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.1f}{TIMES}"


def render(report: Report, console: Console | None = None) -> None:
    console = console or Console()
    console.print(_figures_table(report))
    console.print(_floors_table(report))
    machine = ", ".join(f"{key} {value}" for key, value in report.machine.items())
    settings = ", ".join(f"{key}={value}" for key, value in report.settings.items())
    console.print(f"[bold]machine[/]: {machine}")
    console.print(f"[bold]settings[/]: {settings}")
    console.print(
        "[bold]ratio[/]: cost multiple of the floor (value/floor for times, floor/value for rates); "
        f"1.0{TIMES} = as cheap as the floor."
    )
    console.print(f"[bold]field[/]: {FIDES_NOTE}")
    for note in report.notes:
        console.print(f"[yellow]note[/]: {note}")


def _figures_table(report: Report) -> Table:
    table = Table(title="CCPA pipeline benchmark", title_justify="left")
    for column, justify in (
        ("figure", "left"),
        ("value", "right"),
        ("floor", "right"),
        (f"{TIMES} floor", "right"),
        ("floor is", "left"),
        ("field (Fides 2.78.2)", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for figure in report.figures:
        table.add_row(
            figure.name,
            fmt(figure.kind, figure.value),
            fmt(figure.kind, figure.floor),
            fmt_ratio(figure.ratio),
            figure.floor_name or "—",
            figure.field or "—",
        )
    return table


def _floors_table(report: Report) -> Table:
    table = Table(title="Floors (same broker, database and HTTP stack)", title_justify="left")
    table.add_column("floor")
    table.add_column("value", justify="right")
    for figure in report.floors:
        table.add_row(figure.name, fmt(figure.kind, figure.value))
    return table


def to_json(report: Report) -> dict[str, Any]:
    def row(figure: Figure) -> dict[str, Any]:
        return {**asdict(figure), "ratio": figure.ratio, "display": fmt(figure.kind, figure.value)}

    return {
        "machine": report.machine,
        "settings": report.settings,
        "figures": [row(f) for f in report.figures],
        "floors": [row(f) for f in report.floors],
        "details": report.details,
        "notes": report.notes,
        "field_note": FIDES_NOTE,
    }


def write_json(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(report), indent=2, default=str) + "\n")
