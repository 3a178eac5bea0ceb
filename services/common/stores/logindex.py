"""An index of JSON-lines logs: keyed hash of an identifier → (file, offset, length) of each line holding it.

Stored in SQLite (WAL) next to the logs or in a configured directory: one file, in the standard library,
crash-safe, readable by several processes. Keys are HMAC-SHA256 of kind and normalised value (crypto.keyed_hash),
never the value. The index is a hint: callers re-read the line it points at and check it holds the value.

Files are known by a fingerprint (inode and a hash of the first bytes), not by name, so a rotated (renamed) file
keeps its entries; a file that grew is indexed from its last indexed offset; a file that shrank or whose first
bytes changed is indexed again; a `.gz` file is indexed once, by uncompressed offset, and where each of its gzip
members starts is kept with it (gzmembers.py), or, for a large file of one member, seek points in a file beside
the index: a line is read from its member or its seek point, not from the file's start.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.common.crypto import keyed_hash
from services.common.stores.gzmembers import (
    POINTS_FROM,
    Member,
    build_points,
    inflated,
    member_at,
    reader_at,
    reader_with_points,
)

HEAD_BYTES = 4096
BLOCK = 1 << 20  # a read of the file being indexed: a larger one only holds more memory
# Entries are kept by chunk (a run of whole lines about this long) and offset within it: after an erasure only the
# edited chunks' entries move, and the later chunks' bases.
CHUNK_BYTES = 1 << 20
# A line's identifiers as (kind, normalised value) pairs, or none for a line that is not a record.
Extractor = Callable[[bytes], Iterable[tuple[str, str]]]

_SCHEMA = """
create table if not exists files (id integer primary key, path text unique, inode integer, head blob,
                                  indexed_to integer, gz integer, head_len integer);
create table if not exists chunks (id integer primary key, file integer, base integer);
create index if not exists chunks_file on chunks (file, base);
create table if not exists entries (key blob, chunk integer, rel integer, length integer);
create index if not exists entries_key on entries (key);
create index if not exists entries_chunk on entries (chunk, rel);
create table if not exists members (file integer, coffset integer, uoffset integer);
create index if not exists members_file on members (file, uoffset);
"""


class IndexUnusable(RuntimeError):
    """The index file is missing, corrupt or of another layout: scan the files and rebuild."""


@dataclass(frozen=True)
class Edit:
    """One line an erasure changed, at its offset in the file as it was: `old[start:end]` (the line without its
    newline, or with it when the line went) became `replacement` (empty: dropped)."""

    start: int
    end: int
    replacement: bytes
    newline: bool  # a newline follows the replacement (a masked line keeps its own)


@dataclass(frozen=True)
class Hit:
    path: Path
    offset: int
    length: int


@dataclass(frozen=True)
class FileView:
    """What one search knows of a file with hits, read in one snapshot of the index."""

    hits: list[Hit]
    covered: int  # the bytes indexed (uncompressed for .gz): lines past it were written after the refresh
    members: list[Member]  # .gz only: where each gzip member starts, in order ([]: unknown, read from the start)
    points: Path | None = None  # .gz of one member only: its seek points (gzmembers.build_points), when built


class LogIndex:
    def __init__(self, location: Path, secret: bytes, extract: Extractor) -> None:
        self.location, self.secret, self.extract = location, secret, extract
        try:
            location.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(location, check_same_thread=False, isolation_level=None)
            self.db.execute("pragma journal_mode=wal")
            self.db.execute("pragma synchronous=normal")
            self.db.executescript(_SCHEMA)
            self.db.execute("select id, path, inode, head, indexed_to, gz, head_len from files limit 1").fetchall()
            self.db.execute("select key, chunk, rel, length from entries limit 1").fetchall()
        except sqlite3.DatabaseError as exc:
            raise IndexUnusable(f"{location.name}: {exc}") from None

    def close(self) -> None:
        self.db.close()

    def key(self, kind: str, value: str) -> bytes:
        return bytes.fromhex(keyed_hash(self.secret, kind, value))

    def refresh(self, paths: Iterable[Path]) -> None:
        """Bring the index up to the files as they are now (before answering a search)."""
        present = {path: status for path in paths if (status := _stat(path)) is not None}
        rows = self.db.execute("select id, path, inode, head, indexed_to, gz, head_len from files").fetchall()
        known = {row[1]: row for row in rows}
        by_inode = {row[2]: row for row in rows}
        self.db.execute("begin immediate")
        try:
            moved: set[int] = set()
            for path, status in present.items():
                row = known.get(str(path))
                if row is None or not _same(path, status, row):
                    renamed = by_inode.get(status.st_ino)
                    if renamed is not None and renamed[0] not in moved and _same(path, status, renamed):
                        moved.add(renamed[0])
                        self._drop(path, but=renamed[0])
                        self.db.execute("update files set path = ? where id = ?", (str(path), renamed[0]))
                        row = renamed
                    else:
                        row = self._new_file(path, status.st_ino)
                moved.add(row[0])
                if path.suffix == ".gz":
                    if row[4] == 0:
                        self._index(row[0], path, 0)
                elif status.st_size < row[4]:  # truncated or replaced in place: start again
                    self._drop_entries(row[0])
                    self._index(row[0], path, 0)
                elif status.st_size > row[4]:
                    self._index(row[0], path, row[4])
                if row[6] < HEAD_BYTES and status.st_size > row[6]:
                    length = min(status.st_size, HEAD_BYTES)
                    self.db.execute("update files set head = ?, head_len = ? where id = ?",
                                    (_head(path, length), length, row[0]))  # fmt: skip
            gone = [row[0] for path, row in known.items() if Path(path) not in present and row[0] not in moved]
            for file in gone:
                self._drop_entries(file)
            self.db.executemany("delete from files where id = ?", [(i,) for i in gone])
            self.db.execute("commit")
        except BaseException:
            self.db.execute("rollback")
            raise

    def rewritten(self, path: Path, inode: int, edits: Sequence[Edit], members: list[Member] | None = None) -> bool:
        """After `path` (inode `inode` when it was read) was replaced by a copy that differs only by `edits`, or was
        edited in place (same inode, each edit as long as the bytes it replaced): the edited lines' entries go, the
        masked lines' new entries come, and every later entry moves by the bytes removed before it, so the file is
        not indexed again. `members`: the new `.gz` file's member starts. False when the index no longer describes
        the file as it was read (another process indexed the new file already, or never had the old one): nothing
        is changed and the next refresh judges the file as it finds it."""
        status = _stat(path)
        if status is None:
            return False
        self.db.execute("begin immediate")
        try:
            row = self.db.execute("select id, indexed_to from files where path = ? and inode = ?",
                                  (str(path), inode)).fetchone()  # fmt: skip
            if row is None:
                self.db.execute("rollback")
                return False
            file, indexed_to = row
            inside = sorted((edit for edit in edits if edit.end <= indexed_to), key=lambda edit: edit.start)
            self._shift(file, inside)
            moved = sum(len(edit.replacement) - (edit.end - edit.start) for edit in inside)
            length = min(status.st_size, HEAD_BYTES)
            self.db.execute("update files set inode = ?, indexed_to = ?, head = ?, head_len = ? where id = ?",
                            (status.st_ino, indexed_to + moved, _head(path, length), length, file))  # fmt: skip
            if members is not None:
                self._set_members(file, members)
            if status.st_ino != inode:
                self._points(file, inode).unlink(missing_ok=True)
            self.db.execute("commit")
            return True
        except BaseException:
            self.db.execute("rollback")
            raise

    def _shift(self, file: int, edits: Sequence[Edit]) -> None:
        """The edits (ascending, old offsets) applied to the file's entries: each edit's line loses its entries (a
        masked line gets those of what it still holds), the later entries of its chunk move by the bytes gained or
        lost before them in the chunk, and each later chunk's base by those lost before it."""
        chunks = self.db.execute("select id, base from chunks where file = ? order by base, id", (file,)).fetchall()
        if not edits or not chunks:
            return
        bases = [base for _, base in chunks]
        local: dict[int, list[tuple[int, int]]] = {}  # chunk position → (rel end, cumulative delta in the chunk)
        moved_in: dict[int, int] = {}  # chunk position → bytes gained or lost by its edits
        dropped, added = [], []
        for edit in edits:
            at = bisect.bisect_right(bases, edit.start) - 1
            if at < 0:
                continue
            chunk, base = chunks[at]
            before = moved_in.get(at, 0)
            dropped.append((chunk, edit.start - base))
            if edit.replacement:  # a masked line: what it still identifies, where it now starts in its chunk
                line = edit.replacement + (b"\n" if edit.newline else b"")
                added += [(self.key(kind, value), chunk, edit.start - base + before, len(line))
                          for kind, value in set(self.extract(line))]  # fmt: skip
            moved_in[at] = before + len(edit.replacement) - (edit.end - edit.start)
            local.setdefault(at, []).append((edit.end - base, moved_in[at]))
        self.db.executemany("delete from entries where chunk = ? and rel = ?", dropped)
        self.db.execute("create temp table if not exists shifts (start integer primary key, delta integer)")
        for at, shifts in local.items():
            if not any(delta for _, delta in shifts):
                continue  # edits in place: nothing after them moves
            self.db.execute("delete from shifts")
            self.db.executemany("insert into shifts values (?, ?)", shifts)
            self.db.execute("update entries set rel = rel + (select delta from shifts where shifts.start <="
                            " entries.rel order by shifts.start desc limit 1) where chunk = ? and rel >= ?",
                            (chunks[at][0], shifts[0][0]))  # fmt: skip
        self.db.executemany("insert into entries values (?, ?, ?, ?)", added)
        moved, rebased = 0, []
        for at, (chunk, base) in enumerate(chunks):
            if moved:
                rebased.append((base + moved, chunk))
            moved += moved_in.get(at, 0)
        self.db.executemany("update chunks set base = ? where id = ?", rebased)

    def search(self, pairs: Iterable[tuple[str, str]]) -> dict[Path, FileView]:
        """Per file with hits, the hits with how far the file was indexed and its members, from one snapshot (a
        refresh by another process between the look-up and the rest cannot make lines look covered)."""
        self.db.execute("begin")
        try:
            hits = self.lookup(pairs)
            paths = sorted({hit.path for hit in hits})
            views: dict[Path, FileView] = {}
            for path in paths:
                file, covered, inode = self.db.execute("select id, indexed_to, inode from files where path = ?",
                                                       (str(path),)).fetchone()  # fmt: skip
                members = [Member(c, u) for c, u in self.db.execute(
                    "select coffset, uoffset from members where file = ? order by uoffset", (file,))]  # fmt: skip
                points = self._points(file, inode) if path.suffix == ".gz" and len(members) <= 1 else None
                views[path] = FileView([hit for hit in hits if hit.path == path], covered, members,
                                       points if points is not None and points.is_file() else None)  # fmt: skip
            return views
        finally:
            self.db.execute("commit")

    def lookup(self, pairs: Iterable[tuple[str, str]]) -> list[Hit]:
        """Lines that may hold any of these (kind, value) pairs, by file and offset."""
        keys = [(self.key(kind, value),) for kind, value in pairs]
        hits: set[tuple[str, int, int]] = set()
        for (key,) in keys:
            rows = self.db.execute("select f.path, c.base + e.rel, e.length from entries e join chunks c on"
                                   " c.id = e.chunk join files f on f.id = c.file where e.key = ?", (key,))  # fmt: skip
            hits.update(rows)
        return [Hit(Path(path), offset, length) for path, offset, length in sorted(hits)]

    def _drop(self, path: Path, but: int = -1) -> None:
        for (file,) in self.db.execute("select id from files where path = ? and id != ?", (str(path), but)).fetchall():
            self._drop_entries(file)
        self.db.execute("delete from files where path = ? and id != ?", (str(path), but))

    def _drop_entries(self, file: int) -> None:
        self.db.execute("delete from entries where chunk in (select id from chunks where file = ?)", (file,))
        self.db.execute("delete from chunks where file = ?", (file,))
        self.db.execute("delete from members where file = ?", (file,))
        for points in self._points(file, 0).parent.glob(f"{file}-*.gzidx"):
            points.unlink(missing_ok=True)

    def _points(self, file: int, inode: int) -> Path:
        """Where a .gz file's seek points are kept: beside the index, named by its row and inode (a replaced file
        never meets the points of the file it replaced)."""
        return self.location.with_name(f"{self.location.name}.points") / f"{file}-{inode}.gzidx"

    def _set_members(self, file: int, members: list[Member]) -> None:
        self.db.execute("delete from members where file = ?", (file,))
        self.db.executemany("insert into members values (?, ?, ?)", [(file, m.coffset, m.uoffset) for m in members])

    def _new_file(self, path: Path, inode: int) -> tuple[int, str, int, bytes, int, int, int]:
        self._drop(path)
        empty, gz = _head(path, 0), int(path.suffix == ".gz")
        cursor = self.db.execute("insert into files (path, inode, head, indexed_to, gz, head_len)"
                                 " values (?, ?, ?, 0, ?, 0)", (str(path), inode, empty, gz))  # fmt: skip
        return (cursor.lastrowid or 0, str(path), inode, empty, 0, gz, 0)

    def _index(self, file: int, path: Path, start: int) -> None:
        end, chunk, base = start, 0, -CHUNK_BYTES
        batch: list[tuple[bytes, int, int, int]] = []
        members: list[Member] = []
        for offset, line in _lines(path, start, members):
            end = offset + len(line)
            if offset - base >= CHUNK_BYTES:  # a new chunk starts at a line
                base = offset
                chunk = self.db.execute("insert into chunks (file, base) values (?, ?)", (file, base)).lastrowid or 0
            for kind, value in set(self.extract(line)):
                batch.append((self.key(kind, value), chunk, offset - base, len(line)))
            if len(batch) > 50_000:
                self.db.executemany("insert into entries values (?, ?, ?, ?)", batch)
                batch = []
        self.db.executemany("insert into entries values (?, ?, ?, ?)", batch)
        self.db.execute("update files set indexed_to = ? where id = ?", (max(end, start), file))
        if path.suffix == ".gz":
            self._set_members(file, members)
            if len(members) == 1 and end >= POINTS_FROM:
                build_points(path, self._points(file, os.stat(path).st_ino))


def read_line(hit: Hit, members: list[Member] | None = None, points: Path | None = None) -> bytes:
    """The bytes the index points at (for .gz, inflated from the member or seek point before them)."""
    if hit.path.suffix == ".gz" and points is not None:
        with reader_with_points(hit.path, points) as stream:
            stream.seek(hit.offset)
            return stream.read(hit.length)
    if hit.path.suffix == ".gz":
        member = member_at(members or [], hit.offset)
        with reader_at(hit.path, member) as stream:
            stream.seek(hit.offset - member.uoffset)
            return stream.read(hit.length)
    with hit.path.open("rb") as stream:
        stream.seek(hit.offset)
        return stream.read(hit.length)


def _lines(path: Path, start: int, members: list[Member]) -> Iterator[tuple[int, bytes]]:
    """Complete lines (with their newline) from `start`; a partial last line waits for the next refresh,
    except in a .gz file (read whole, from 0), which is complete and whose members go to `members`."""
    offset, rest = start, b""
    for _, block in _blocks(path, start, members):
        lines = (rest + block).split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield offset, line + b"\n"
            offset += len(line) + 1
    if rest and path.suffix == ".gz":
        yield offset, rest


def _blocks(path: Path, start: int, members: list[Member]) -> Iterator[tuple[int, bytes]]:
    if path.suffix == ".gz":
        yield from inflated(path, members=members)
        return
    with path.open("rb") as stream:
        stream.seek(start)
        while block := stream.read(BLOCK):
            yield start, block
            start += len(block)


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


def _head(path: Path, length: int) -> bytes:
    with path.open("rb") as stream:
        return hashlib.sha256(stream.read(length)).digest()


def _same(path: Path, status: os.stat_result, row: tuple[int, str, int, bytes, int, int, int]) -> bool:
    """The file the row describes: same inode, at least as long as its recorded head, and the same first bytes."""
    return status.st_ino == row[2] and status.st_size >= row[6] and _head(path, row[6]) == row[3]
