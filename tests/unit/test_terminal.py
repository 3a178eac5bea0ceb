"""Tables on a pipe are tab-separated lines, with real tabs (Rich's own printing would expand them to spaces)."""

from __future__ import annotations

import io

from rich.table import Table

from services.common.terminal import PlainConsole


def test_a_piped_table_keeps_its_tabs_and_other_output_follows_in_order() -> None:
    table = Table(title="Data flows")
    table.add_column("Flow")
    table.add_column("Recipient")
    table.add_row("coop-export", "brightlist")
    out = io.StringIO()
    console = PlainConsole(file=out, highlight=False, soft_wrap=True)
    console.print("before")
    console.print(table)
    console.print("after")
    assert out.getvalue() == "before\nData flows\nFlow\tRecipient\ncoop-export\tbrightlist\nafter\n"
