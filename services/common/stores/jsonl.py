"""The JSON-lines store adapter: log files matched by a glob, rotated (`.1`) and gzipped (`.gz`) ones included,
found, opened and searched here for every service (discovery's read, deletion's rewrite, the scanner's sample);
a line is the subject's when one of its identifying fields holds a known value.

Files are read in large blocks and one multi-pattern search per block picks the candidate lines (linescan.py);
only those are parsed and checked field by field, so a search costs one pass over the bytes.

Searches that arrive while a pass is running share the next pass: the first waiting caller takes every queued
search and answers them all from one read of the files (group search). Concurrent walks, such as a discovery
service walking several requests at once, therefore read a log store once per round, not once per request.
"""

from __future__ import annotations

import contextlib
import glob
import gzip
import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from services.common.datamap.model import Collection, DataMap, Store
from services.common.stores.base import FoundRecord, Identifiers, StoreUnavailable
from services.common.stores.linescan import Finder, candidate_forms, scan_blocks
from services.common.stores.logindex import FileView
from services.common.stores.logindexed import index_for, read_lines
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
__all__ = ["JsonLinesConnector", "candidate_forms", "log_files", "lookup", "open_lines", "open_text", "parsed_line"]


@dataclass
class _Search:
    identifiers: Identifiers
    found: list[FoundRecord] = field(default_factory=list)
    error: StoreUnavailable | None = None
    done: bool = False


Asked = list[tuple[_Search, list[SearchField]]]


class JsonLinesConnector:
    def __init__(self, datamap: DataMap, store: Store) -> None:
        self.datamap = datamap
        self.store = store
        self._queued: list[_Search] = []
        self._queue_lock = threading.Lock()
        self._pass_lock = threading.Lock()
        self._counts: dict[Path, tuple[tuple[int, int, int], list[int]]] = {}

    def search(self, identifiers: Identifiers) -> list[FoundRecord]:
        mine = _Search(identifiers)
        with self._queue_lock:
            self._queued.append(mine)
        with self._pass_lock:
            if not mine.done:  # else an earlier pass answered it while this caller waited
                with self._queue_lock:
                    batch, self._queued = self._queued, []
                self.search_many(batch)
        if mine.error is not None:
            raise mine.error
        return mine.found

    def search_many(self, searches: list[_Search]) -> None:
        """Answer every search from one pass over each file; a file that cannot be read fails them all."""
        try:
            for collection in searched_collections(self.store):
                asked = [(search, targets) for search in searches if (targets := self._targets(collection, search))]
                if asked and collection.path:
                    files = log_files(collection.path)
                    hits = self._indexed(collection, files, asked)
                    for path in files:
                        if hits is None:
                            self._search_file(collection, path, asked)
                        elif path in hits:
                            self._check_hits(collection, path, hits[path], asked)
        except StoreUnavailable as exc:
            for search in searches:
                search.error, search.found = exc, []
        finally:
            for search in searches:
                search.done = True

    def close(self) -> None:
        """Nothing stays open between searches."""

    def _targets(self, collection: Collection, search: _Search) -> list[SearchField]:
        return search_fields(self.datamap, self.store, collection, search.identifiers)

    def _indexed(self, collection: Collection, files: list[Path], asked: Asked) -> dict[Path, FileView] | None:
        """Per file, the lines the log index points at; None without a usable index (scan every file)."""
        index = index_for(self.datamap, self.store, collection)
        if index is None:
            return None
        pairs = {(target.kind, value) for _, targets in asked for target in targets for value in target.values}
        return index.search(files, pairs)

    def _check_hits(self, collection: Collection, path: Path, view: FileView, asked: Asked) -> None:
        """Only the lines the index points at, each checked like a scanned line: the index is a hint."""
        wanted = _wanted(asked)
        try:
            for hit, line in read_lines(path, view.hits, view.members, view.points):
                entry = parsed_line(line.rstrip(b"\r\n"))
                owners = _owners(entry, wanted) if entry is not None else []
                if entry is not None and owners:
                    record = self._record(collection, path, hit.offset, entry, by_offset=True)
                    for search in owners:
                        search.found.append(record)
        except (OSError, EOFError, UnicodeError) as exc:
            raise StoreUnavailable(self.store.name, f"cannot read {path.name}: {_why(exc)}") from None

    def _search_file(self, collection: Collection, path: Path, asked: Asked) -> None:
        wanted = _wanted(asked)
        finder = Finder(candidate_forms(value for values in wanted.values() for value in values))
        malformed = 0
        try:
            with _open(path) as (stream, signature):
                counts = self._line_counts(path, signature)
                for block in scan_blocks(stream, finder, line_counts=counts):
                    for number, start, end in block.spans:
                        line = block.line(start, end)
                        entry = parsed_line(line)
                        if entry is None:
                            malformed += bool(line.strip())
                            continue
                        owners = _owners(entry, wanted)
                        if owners:
                            record = self._record(collection, path, number, entry)
                            for search in owners:
                                search.found.append(record)
        except (OSError, EOFError, UnicodeError) as exc:
            raise StoreUnavailable(self.store.name, f"cannot read {path.name}: {_why(exc)}") from None
        if malformed:
            log.debug("skipped malformed log lines", extra={"store": self.store.name, "file": path.name,
                                                            "lines": malformed})  # fmt: skip

    def _line_counts(self, path: Path, signature: tuple[int, int, int]) -> list[int]:
        """Newlines per block of this version of the file (inode, size, mtime), kept between passes: counting
        them is a third of a pass, and they change only when the file does."""
        with self._queue_lock:
            known = self._counts.get(path)
            if known is None or known[0] != signature:
                known = self._counts[path] = (signature, [])
            return known[1]

    def _record(self, collection: Collection, path: Path, number: int, entry: dict[str, Any],
                by_offset: bool = False) -> FoundRecord:  # fmt: skip
        """A line found by a scan is named `file:line`, one found through the index `file@byte offset`."""
        raw = {field.name: value for field in collection.fields if (value := lookup(entry, field.name)) is not None}
        where = f"{path.name}@{number}" if by_offset else f"{path.name}:{number}"
        return FoundRecord(self.store.name, collection.name, where, record_values(collection, raw),
                           occurred_at(collection, raw))  # fmt: skip


def _wanted(asked: Asked) -> dict[tuple[str, str], dict[str, list[_Search]]]:
    """(field, kind) → value → the searches that want it: a candidate line is checked once, not once per search."""
    wanted: dict[tuple[str, str], dict[str, list[_Search]]] = {}
    for search, targets in asked:
        for target in targets:
            values = wanted.setdefault((target.field.name, target.kind), {})
            for value in target.values:
                values.setdefault(value, []).append(search)
    return wanted


def _owners(entry: dict[str, Any], wanted: dict[tuple[str, str], dict[str, list[_Search]]]) -> list[_Search]:
    owners: dict[int, _Search] = {}
    for (name, kind), values in wanted.items():
        value = lookup(entry, name)
        if value is not None:
            for text in identifier_values(kind, value):
                owners.update((id(search), search) for search in values.get(text, ()))
    return list(owners.values())


def log_files(pattern: str, current_first: bool = False) -> list[Path]:
    """Files the glob matches, and their rotations (`x.1`, `x.2.gz`, `x.gz`); none when the folder is missing.
    In name order, or with `current_first` the uncompressed ones first (a sample reads the newest lines)."""
    matched = set(glob.glob(pattern))
    matched.update(name for name in glob.glob(pattern + ".*") if ROTATED_SUFFIX.search(name))
    files = (path for name in matched if (path := Path(name)).is_file())
    return sorted(files, key=lambda path: (current_first and path.suffix == ".gz", path))


def open_lines(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed for .gz, for reading line by line."""
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]  # GzipFile is a binary IO
    return path.open("rb")


def open_text(path: Path) -> IO[str]:
    """The file as text (decompressed for .gz); bytes that are not UTF-8 read as U+FFFD."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


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


def parsed_line(line: bytes) -> dict[str, Any] | None:
    """The line's JSON object (bytes that are not UTF-8 read as U+FFFD, as a text reader would), or None."""
    try:
        try:
            entry = json.loads(line)
        except UnicodeDecodeError:
            entry = json.loads(line.decode("utf-8", "replace"))
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


@contextlib.contextmanager
def _open(path: Path) -> Iterator[tuple[IO[bytes], tuple[int, int, int]]]:
    """The file's bytes (decompressed for .gz) and the signature of the very file opened."""
    with path.open("rb") as raw:
        status = os.fstat(raw.fileno())
        signature = (status.st_ino, status.st_size, status.st_mtime_ns)
        if path.suffix == ".gz":
            with gzip.GzipFile(fileobj=raw, mode="rb") as unpacked:
                yield unpacked, signature  # type: ignore[misc]  # GzipFile is a binary IO
        else:
            yield raw, signature


def _why(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
