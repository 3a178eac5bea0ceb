"""How a SQL column of emails is compared case-insensitively without a sequential scan (pure rules).

Emails are known lower-cased (values.normalise_identifier). A stored value may not be, so the column is compared
the cheapest way that stays correct, decided once per column:
1. its collation or type already ignores case (MySQL/MariaDB `…_ci`, PostgreSQL citext or a nondeterministic
   collation, SQLite `COLLATE NOCASE`): compared as it is, so a plain index serves it, and the rows the collation
   matches too loosely are dropped after the read;
2. an index on `lower(column)` exists: compared as `lower(column)`, which that index serves;
3. the data map declares `stored: normalised` and the first values read agree: compared as it is (plain index);
4. otherwise `lower(column)` (a sequential scan where only a plain index exists), with one warning per column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Matching = Literal["exact", "collation", "lower_indexed", "declared", "lower_unindexed"]
NORMALISED_CHECK_ROWS = 10_000  # the declaration is checked against this many stored values, once


@dataclass(frozen=True)
class ColumnFacts:
    """What the database and the data map say about one column."""

    text: bool
    case_insensitive: bool = False  # its collation or type folds case
    lower_indexed: bool = False  # an index on lower(column)
    declared_normalised: bool = False  # the data map's `stored: normalised`
    declaration_holds: bool = False  # the values read agree with the declaration


def matching(kind: str, facts: ColumnFacts) -> Matching:
    """How the column is compared with values of `kind` (rules 1 to 4 of the module docstring)."""
    if kind != "email" or not facts.text:
        return "exact"
    if facts.case_insensitive:
        return "collation"
    if facts.lower_indexed:
        return "lower_indexed"
    if facts.declared_normalised and facts.declaration_holds:
        return "declared"
    return "lower_unindexed"


def compared_as_is(how: Matching) -> bool:
    """Whether the column itself (not lower(column)) is compared, so a plain index serves the look-up."""
    return how in ("exact", "collation", "declared")


def all_lower(values: Iterable[object]) -> bool:
    """Every stored text value is already in an email's normal form (trimmed, lower-case)."""
    return all(not isinstance(v, str) or v == v.strip().lower() for v in values)


def advice(table: str, column: str, how: Matching, declared: bool) -> str | None:
    """The one warning a column deserves (names the column and the fix, never a value); None when it is fine."""
    if how != "lower_unindexed":
        return None
    if declared:
        return (f"{table}.{column} is declared `stored: normalised` but holds values that are not lower-case: "
                f"comparing lower({column}) instead (a sequential scan without an index on it); lower-case the "
                f"stored values, or add CREATE INDEX ON {table} (lower({column}))")  # fmt: skip
    return (f"{table}.{column} holds emails compared as lower({column}) with no index on that expression, so each "
            f"look-up scans the table; add CREATE INDEX ON {table} (lower({column})), or declare "
            "`stored: normalised` in the data map if the application writes them lower-case")  # fmt: skip
