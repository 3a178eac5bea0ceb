"""Tables for a terminal or a pipe: Rich tables at the terminal's width, tab-separated lines when redirected."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

# The options every command printing tables over a data map shares.
WidthOption = Annotated[
    int | None,
    typer.Option(min=40, metavar="COLUMNS", help="Tables this wide (default: the terminal's; piped: plain lines)"),
]
EnvFileOption = Annotated[Path | None, typer.Option(metavar="FILE", help="KEY=VALUE file for ${VAR} in the data map")]


def output_console(width: int | None) -> Console:
    """Rich tables at the terminal's width (or `width`); tab-separated lines when stdout is not a terminal."""
    if width is not None or sys.stdout.isatty():
        return Console(width=width)
    return PlainConsole(highlight=False, soft_wrap=True)


class PlainConsole(Console):
    """A console for a pipe or a file: a table becomes its title, then one tab-separated line per header and row."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        for item in objects:
            if isinstance(item, Table):
                self.file.write(tab_separated(item) + "\n")  # as is: Rich would expand the tabs into spaces
            else:
                super().print(item, **kwargs)


def tab_separated(table: Table) -> str:
    def plain(cell: Any) -> str:
        text = cell.plain if isinstance(cell, Text) else Text.from_markup(str(cell)).plain
        return " ".join(text.split())  # a cell's own line breaks and tabs would break the columns

    columns = [list(column.cells) for column in table.columns]
    lines = [plain(table.title)] if table.title else []
    lines.append("\t".join(plain(column.header) for column in table.columns))
    lines += ["\t".join(plain(cells[row]) for cells in columns) for row in range(table.row_count)]
    return "\n".join(lines)
