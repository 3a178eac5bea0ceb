"""The terminal view of a scan: a progress bar per store while it runs, then coverage and findings tables."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.discovery.scanner.content import described, goes_to
from services.discovery.scanner.model import FieldFinding, ScanResult, StoreCoverage


class RichProgress:
    """A bar per store, advanced per collection (per batch of keys for Redis); gone when the scan ends."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(TextColumn("[bold]{task.fields[store]}[/] {task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("{task.fields[unit]}"), TimeElapsedColumn(),
                                 console=console, transient=True)  # fmt: skip
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.progress.stop()

    def store_started(self, store: str, total: int | None, unit: str) -> None:
        self.tasks[store] = self.progress.add_task("", total=total, store=store, unit=unit)

    def advanced(self, store: str, steps: int, collection: str) -> None:
        if store in self.tasks:
            self.progress.update(self.tasks[store], advance=steps, description=collection)

    def store_finished(self, store: str) -> None:
        if store in self.tasks:
            task = self.tasks[store]
            self.progress.update(task, completed=self.progress.tasks[task].total or 0, description="done")


def show(result: ScanResult, console: Console) -> None:
    console.print(coverage_table(result))
    if result.unmapped_pi:
        console.print(findings_table(result.unmapped_pi))
    if result.revealing:
        console.print(revealing_table(result.revealing))
    for line in problems(result):
        console.print(f"[yellow]![/] {escape(line)}", highlight=False)
    console.print(summary(result), highlight=False)


def coverage_table(result: ScanResult) -> Table:
    table = Table(title="PI scan coverage", title_justify="left")
    for header in ("Store", "Kind", "Collections", "Fields scanned", "Mapped", "Covered", "Unmapped PI", "Records"):
        table.add_column(header, justify="left" if header in ("Store", "Kind") else "right")
    table.add_column("Note")
    for store in result.stores:
        table.add_row(escape(store.name), store.kind, *_store_counts(store), _store_note(store))
    return table


def _store_counts(store: StoreCoverage) -> tuple[str, ...]:
    if not store.scannable:
        return ("-",) * 6
    in_map = sum(1 for collection in store.collections if collection.in_datamap)
    unmapped = store.count("unmapped_pi")
    return (
        f"{len(store.collections)} ({in_map} in map)",
        str(len(store.fields)),
        str(sum(1 for finding in store.fields if finding.mapped)),
        str(store.count("covered")),
        f"[bold red]{unmapped}[/]" if unmapped else "0",
        f"{store.records:,}",
    )


def _store_note(store: StoreCoverage) -> str:
    if store.error:
        return f"[red]unreachable: {escape(store.error)}[/]"
    return escape(store.note or "")


def findings_table(findings: list[FieldFinding]) -> Table:
    table = Table(title="Personal information the data map does not describe", title_justify="left")
    for header in ("Store", "Collection", "Field", "Found", "Matched", "Confidence", "Suggested"):
        table.add_column(header)
    for finding in findings:
        names = (escape(finding.store), escape(finding.collection), escape(finding.field))
        table.add_row(*names, _found(finding), _matched(finding),
                      finding.confidence or "", _suggested(finding))  # fmt: skip
    return table


def _found(finding: FieldFinding) -> str:
    kinds = ", ".join(finding.kinds)
    return f"contains {kinds}" if finding.in_text else kinds


def _matched(finding: FieldFinding) -> str:
    kind = finding.kinds[0]
    detection = next((d for d in finding.detections if d.kind == kind and d.in_text == finding.in_text), None)
    if detection is None:
        return f"name only ({finding.sampled} values)"
    return f"{detection.matches}/{finding.sampled} ({detection.ratio:.0%})"


def _suggested(finding: FieldFinding) -> str:
    suggestion = finding.suggestion
    if suggestion is None:
        return ""
    withheld = f"withheld: {suggestion.withheld}" if suggestion.withheld else None
    return " ".join(part for part in (suggestion.category, suggestion.sensitive, withheld) if part)


def revealing_table(findings: list[FieldFinding]) -> Table:
    """Fields sold or shared whose values reveal sensitive PI: per category the count and share, and to whom."""
    table = Table(title="Sensitive personal information in what is sold or shared (content check)",
                  title_justify="left")  # fmt: skip
    for header in ("Store", "Collection", "Field", "Reveals", "Matched", "Goes to", "Suggested"):
        table.add_column(header)
    for finding in findings:
        content = finding.content
        assert content is not None
        names = (escape(finding.store), escape(finding.collection), escape(finding.field))
        reveals = "\n".join(r.category for r in content.revealed)
        matched = "\n".join(f"{r.matches}/{content.checked} ({r.ratio:.1%})" for r in content.revealed)
        table.add_row(*names, reveals, matched, escape(goes_to(content)), escape(content_action(finding)))
    return table


def content_action(finding: FieldFinding) -> str:
    """What to do: take it out of the flows, or mark it sensitive so a consumer's limit stops it."""
    content = finding.content
    assert content is not None
    top = content.revealed[0].category
    where = f"remove it from flow {', '.join(content.destination.flows)}" if content.destination.flows else (
        "stop selling or sharing it")  # fmt: skip
    if content.marked_sensitive == top:
        return f"{where}, or strip what reveals {described(top)} before it leaves"
    return f"{where}, or mark it sensitive: {top} (a limit then stops it)"


def problems(result: ScanResult) -> list[str]:
    lines: list[str] = []
    for store in result.stores:
        for collection in store.collections:
            where = f"{store.name}.{collection.name}"
            lines.extend(f"{where}: {problem}" for problem in collection.problems)
            if collection.missing_fields:
                lines.append(f"{where}: in the data map, not in the table: {', '.join(collection.missing_fields)}")
            lines.extend(f"{where}: no index serves the walk's look-up by {lookup}, so every request scans the "
                         f"table; add one: {create_index(collection.name, lookup)}"
                         for lookup in collection.unindexed_lookups)  # fmt: skip
            if collection.in_datamap and collection.notes and not collection.records:
                lines.extend(f"{where}: {note}" for note in collection.notes)
    return lines


def create_index(table: str, lookup: str) -> str:
    """The statement that serves a look-up: `account_id` or `lower(email)` on `table` or `schema.table`."""
    column = lookup.removeprefix("lower(").removesuffix(")")
    name = f"ix_{table.rsplit('.', 1)[-1]}_{column}{'_lower' if lookup != column else ''}"
    return f"CREATE INDEX {name} ON {table} ({lookup})"


def summary(result: ScanResult) -> str:
    unmapped = len(result.unmapped_pi)
    verdict = f"[bold red]{unmapped} unmapped PI field(s)[/]" if unmapped else "[green]no unmapped PI found[/]"
    text = (f"Sampled {result.records:,} records in {result.seconds:.2f} s ({result.rows_per_second:,.0f} rows/s); "
            f"{len(result.fields)} fields, {result.count('covered')} covered, {verdict}.")  # fmt: skip
    if result.revealing:
        text += f" [bold red]{len(result.revealing)} sold or shared field(s) reveal sensitive PI.[/]"
    if result.unreachable:
        text += f" [red]Not reached: {escape(', '.join(result.unreachable))}.[/]"
    return text
