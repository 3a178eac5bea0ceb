"""The log index (logindex.py) wired into the JSON-lines store: one SQLite index per collection in the folder set
by CCPA_LOG_INDEX_DIR (LogIndexSettings), keyed by a key derived from the subject key.

Before answering, the index is brought up to the files (refresh: the tail written a moment ago is indexed), then
looked up; callers re-read and re-check every line it points at (the index is a hint, the line is the truth).
Erasure rewrites only the files with hits and moves their entries to where the lines now are (LogIndex.rewritten).
An index that cannot be opened or read is dropped with one warning, the caller scans every file, and the index
is built again from the files. Without a configured folder nothing here is used.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from services.common.datamap.model import Collection, DataMap, Store
from services.common.stores.gzmembers import Member, member_at, reader_at, reader_with_points
from services.common.stores.logindex import Edit, Extractor, FileView, Hit, IndexUnusable, LogIndex

log = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_open_indexes: dict[Path, CollectionIndex] = {}
_registry_lock = threading.Lock()


def configured() -> tuple[Path, bytes] | None:
    """(folder, key) when the log index is configured, else None."""
    if not os.environ.get("CCPA_LOG_INDEX_DIR"):
        return None
    from services.common.settings import LogIndexSettings

    settings = LogIndexSettings()
    return Path(settings.log_index_dir), settings.index_key()


def index_for(datamap: DataMap, store: Store, collection: Collection) -> CollectionIndex | None:
    """The collection's index (one per process and file), or None when no index is configured."""
    where = configured()
    if where is None or not collection.path:
        return None
    directory, key = where
    location = directory / f"{_UNSAFE.sub('_', store.name)}.{_UNSAFE.sub('_', collection.name)}.sqlite"
    with _registry_lock:
        known = _open_indexes.get(location)
        if known is None:
            known = _open_indexes[location] = CollectionIndex(location, key, extractor(datamap, store, collection))
        return known


def extractor(datamap: DataMap, store: Store, collection: Collection) -> Extractor:
    """A line's (kind, normalised value) pairs, from the collection's identifying fields."""
    from services.common.stores.jsonl import lookup, parsed_line
    from services.common.stores.values import identifier_values

    kinds = [(f.name, kind) for f in collection.fields if (kind := datamap.identifier_kind(store, collection, f))]

    def extract(line: bytes) -> Iterator[tuple[str, str]]:
        entry = parsed_line(line)
        if entry is None:
            return
        for name, kind in kinds:
            value = lookup(entry, name)
            if value is not None:
                yield from ((kind, text) for text in identifier_values(kind, value))

    return extract


class CollectionIndex:
    def __init__(self, location: Path, key: bytes, extract: Extractor) -> None:
        self.location, self.key, self.extract = location, key, extract
        self._index: LogIndex | None = None
        self._warned = False
        self._lock = threading.Lock()

    def search(self, files: list[Path], pairs: Iterable[tuple[str, str]]) -> dict[Path, FileView] | None:
        """Per file with hits, the lines that may hold any pair (with how far the file is indexed and its gzip
        members), after indexing the files as they are now; None when the index is unusable (the caller scans
        every file; the index is rebuilt)."""
        wanted = list(pairs)
        with self._lock:
            try:
                index = self._open()
                index.refresh(files)
                return index.search(wanted)
            except (IndexUnusable, sqlite3.DatabaseError) as exc:
                self._unusable(exc, files)
                return None

    def hits(self, files: list[Path], pairs: Iterable[tuple[str, str]]) -> dict[Path, list[Hit]] | None:
        """Per file, the lines that may hold any pair (search without the rest)."""
        views = self.search(files, pairs)
        return None if views is None else {path: view.hits for path, view in views.items()}

    def rewritten(self, path: Path, inode: int, edits: Sequence[Edit], members: list[Member] | None = None) -> None:
        """An erasure replaced or edited the file (LogIndex.rewritten): its entries follow the lines; where they
        cannot, the next refresh indexes the file again."""
        with self._lock:
            try:
                if not self._open().rewritten(path, inode, edits, members):
                    log.info("log index: a rewritten file will be indexed again", extra={"index": self.location.name})
            except (IndexUnusable, sqlite3.DatabaseError, OSError) as exc:
                self._unusable(exc, [])

    def close(self) -> None:
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None

    def _open(self) -> LogIndex:
        if self._index is None:
            self._index = LogIndex(self.location, self.key, self.extract)
        return self._index

    def _unusable(self, exc: BaseException, files: list[Path]) -> None:
        if not self._warned:
            self._warned = True
            log.warning("log index unusable: scanning the log files and rebuilding it",
                        extra={"index": self.location.name, "reason": type(exc).__name__})  # fmt: skip
        if self._index is not None:
            self._index.close()
            self._index = None
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.location}{suffix}").unlink(missing_ok=True)
        try:
            self._open().refresh(files)
        except (IndexUnusable, sqlite3.DatabaseError, OSError):
            self._index = None  # tried again on the next search


def read_lines(path: Path, hits: list[Hit], members: list[Member] | None = None,
               points: Path | None = None) -> Iterator[tuple[Hit, bytes]]:  # fmt: skip
    """The bytes of each hit, in offset order, from one open of the file. A .gz file of one member with seek points
    is read through them; another is inflated forward from the member holding the first hit, and from a later
    member's start whenever the next hit is in a later member."""
    ordered = sorted(hits, key=lambda hit: hit.offset)
    if path.suffix != ".gz" or points is not None:
        opened = reader_with_points(path, points) if path.suffix == ".gz" else path.open("rb")
        with opened as stream:
            for hit in ordered:
                stream.seek(hit.offset)
                yield hit, stream.read(hit.length)
        return
    while ordered:
        member = member_at(members or [], ordered[0].offset)
        with reader_at(path, member) as stream:
            while ordered and member_at(members or [], ordered[0].offset) == member:
                hit = ordered.pop(0)
                stream.seek(hit.offset - member.uoffset)
                yield hit, stream.read(hit.length)
            # the next hit is in a later member: opened again from there rather than inflated up to it


def close_all() -> None:
    """Close every open index (tests, and a process that changes CCPA_LOG_INDEX_DIR)."""
    with _registry_lock:
        for index in _open_indexes.values():
            index.close()
        _open_indexes.clear()
