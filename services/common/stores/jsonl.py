"""JSON-lines store connector: log files matched by a glob, rotated (`.1`) and gzipped (`.gz`) ones included;
a line is the subject's when one of its identifying fields holds a known value.

Files are read in large blocks and a fast substring search for the wanted values picks the candidate lines;
only those are parsed and checked field by field, so a search costs one pass over the bytes, not a JSON parse
per line.
"""

from __future__ import annotations

import glob
import gzip
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from services.common.datamap.model import Collection, DataMap, Store
from services.common.stores.base import FoundRecord, Identifiers, StoreUnavailable
from services.common.stores.values import (
    SearchField,
    identifier_values,
    occurred_at,
    record_values,
    search_fields,
    searched_collections,
)

log = logging.getLogger(__name__)
ROTATED_SUFFIX = re.compile(r"\.(?:\d+(?:\.gz)?|gz)$")
BLOCK_CHARS = 8 << 20


class JsonLinesConnector:
    def __init__(self, datamap: DataMap, store: Store) -> None:
        self.datamap = datamap
        self.store = store

    def search(self, identifiers: Identifiers) -> list[FoundRecord]:
        found = []
        for collection in searched_collections(self.store):
            targets = search_fields(self.datamap, self.store, collection, identifiers)
            if targets and collection.path:
                for path in log_files(collection.path):
                    found.extend(self._search_file(collection, path, targets))
        return found

    def close(self) -> None:
        """Nothing stays open between searches."""

    def _search_file(self, collection: Collection, path: Path, targets: list[SearchField]) -> list[FoundRecord]:
        wanted = [(target, frozenset(target.values)) for target in targets]
        forms = candidate_forms([value for target in targets for value in target.values])
        found, malformed = [], 0
        try:
            with _open(path) as stream:
                for number, line in candidate_lines(stream, forms):
                    entry = _parsed(line)
                    if entry is None:
                        malformed += bool(line.strip())
                    elif any(_holds(entry, target, values) for target, values in wanted):
                        found.append(self._record(collection, path, number, entry))
        except (OSError, EOFError, UnicodeError) as exc:
            raise StoreUnavailable(self.store.name, f"cannot read {path.name}: {_why(exc)}") from None
        if malformed:
            log.debug("skipped malformed log lines", extra={"store": self.store.name, "file": path.name,
                                                            "lines": malformed})  # fmt: skip
        return found

    def _record(self, collection: Collection, path: Path, number: int, entry: dict[str, Any]) -> FoundRecord:
        raw = {field.name: value for field in collection.fields if (value := lookup(entry, field.name)) is not None}
        return FoundRecord(self.store.name, collection.name, f"{path.name}:{number}", record_values(collection, raw),
                           occurred_at(collection, raw))  # fmt: skip


def candidate_forms(values: Iterator[str] | list[str]) -> tuple[str, ...]:
    """Each wanted value as written and as JSON would escape it, lower-cased (emails are compared lower-cased)."""
    forms: set[str] = set()
    for value in values:
        forms.update({value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
                      value.replace("/", "\\/")})  # fmt: skip
    return tuple(sorted(form.lower() for form in forms if form))


def candidate_lines(stream: IO[str], forms: tuple[str, ...]) -> Iterator[tuple[int, str]]:
    """(line number, line) of every line holding one of the forms, reading the stream in large blocks."""
    first_line, carry = 1, ""
    while True:
        block = stream.read(BLOCK_CHARS)
        buffer = carry + block
        if not buffer:
            return
        cut = buffer.rfind("\n") + 1 if block else len(buffer)
        if cut == 0:
            carry = buffer  # a line longer than a block: keep reading until it ends
            continue
        text, carry = buffer[:cut], buffer[cut:]
        yield from _matching_lines(text, forms, first_line)
        first_line += text.count("\n")
        if not block:
            return


def _matching_lines(text: str, forms: tuple[str, ...], first_line: int) -> Iterator[tuple[int, str]]:
    lowered = text.lower() if text.isascii() else None  # str.lower keeps offsets only for ASCII text
    haystack = lowered if lowered is not None else text
    starts = sorted({text.rfind("\n", 0, hit) + 1 for form in forms for hit in _hits(haystack, form, lowered is None)})
    counted_to, number = 0, first_line
    for start in starts:
        end = text.find("\n", start)
        number += text.count("\n", counted_to, start)
        counted_to = start
        yield number, text[start : len(text) if end == -1 else end]


def _hits(haystack: str, form: str, case_sensitive_fallback: bool) -> Iterator[int]:
    """Offsets of `form` (str.find is a fast two-way search); non-ASCII text is searched case-insensitively by regex."""
    if case_sensitive_fallback:
        yield from (match.start() for match in re.finditer(re.escape(form), haystack, re.IGNORECASE))
        return
    position = haystack.find(form)
    while position != -1:
        yield position
        position = haystack.find(form, position + 1)


def log_files(pattern: str) -> list[Path]:
    """Files the glob matches, and their rotations (`x.1`, `x.2.gz`, `x.gz`); none when the folder is missing."""
    matched = set(glob.glob(pattern))
    matched.update(name for name in glob.glob(pattern + ".*") if ROTATED_SUFFIX.search(name))
    return sorted(path for name in matched if (path := Path(name)).is_file())


def lookup(entry: dict[str, Any], name: str) -> Any:
    """A top-level member, or a nested one named with dots (`user.email`)."""
    if name in entry:
        return entry[name]
    node: Any = entry
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _holds(entry: dict[str, Any], target: SearchField, values: frozenset[str]) -> bool:
    value = lookup(entry, target.field.name)
    return value is not None and any(text in values for text in identifier_values(target.kind, value))


def _parsed(line: str) -> dict[str, Any] | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


def _open(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


def _why(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
