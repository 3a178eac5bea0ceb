"""docs/operations.md's table of Kafka principals is the one rendered from services/common/access.py."""

from __future__ import annotations

from pathlib import Path

from services.common.access import PRINCIPALS, TABLE_HEADER, markdown_table

OPERATIONS_MD = Path(__file__).parents[2] / "docs" / "operations.md"


def documented_table() -> str:
    lines = OPERATIONS_MD.read_text(encoding="utf-8").splitlines()
    start = lines.index(TABLE_HEADER[0])
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return "\n".join(lines[start:end]) + "\n"


def test_the_documented_table_is_the_rendered_one() -> None:
    assert documented_table() == markdown_table(), "run `python -m services.common.access` and paste its table"


def test_the_rendered_table_has_a_row_per_principal() -> None:
    rows = markdown_table().splitlines()[len(TABLE_HEADER) :]
    assert [row.split("`")[1] for row in rows] == [principal.name for principal in PRINCIPALS]
