"""JSON-lines erasure: every log file of a collection (rotated and gzipped ones too) is rewritten without the
subjects' lines, or with their fields masked. A temporary file in the same folder (same mode, gzip kept, written
as members of about 1 MiB) is fsynced and then replaces the original atomically; untouched bytes are copied as
they are. Where the log index covers the collection, only the lines it points at are read, a plain file is edited
in place and a .gz file has only its edited members recompressed (jsonl_indexed.py).

One pass per file serves a whole batch of erasure plans (`erase_many`): the wanted values of every plan go into
one multi-pattern search, each candidate line is parsed once and given to the plans whose values it holds, and the
file is written once. Erasing a hundred queued subjects therefore costs about what erasing one does.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from services.common.datamap.model import DataMap, Store
from services.common.stores.base import StoreUnavailable
from services.common.stores.gzmembers import Member, MemberWriter
from services.common.stores.jsonl import log_files, lookup, open_lines, parsed_line
from services.common.stores.linescan import Finder, candidate_forms, scan_blocks
from services.common.stores.logindex import Edit, FileView
from services.common.stores.logindexed import CollectionIndex, index_for
from services.common.stores.values import identifier_values, occurred_at, searched_collections
from services.deletion.erasure import jsonl_indexed as indexed
from services.deletion.erasure.outcome import OutcomeTally, Settle, StoreOutcome, unsettled
from services.deletion.erasure.plan import CollectionStep, StorePlan
from services.deletion.erasure.strategies import masked_values

GZIP_LEVEL = 6
ATTEMPTS = 3  # a file that keeps growing while it is rewritten (a live log) is tried again this many times
Batch = Sequence[tuple[StorePlan, Settle]]
DROP = object()  # a line's verdict: it goes, with its newline


class JsonLinesEraser:
    def __init__(self, datamap: DataMap, store: Store, hmac_key: bytes) -> None:
        self.datamap = datamap
        self.store = store
        self.hmac_key = hmac_key

    def erase(self, plan: StorePlan, settle: Settle = unsettled, dry_run: bool = False) -> StoreOutcome:
        [outcome] = self.erase_many([(plan, settle)], dry_run)
        if isinstance(outcome, StoreUnavailable):
            raise outcome
        return outcome

    def erase_many(self, batch: Batch, dry_run: bool = False) -> list[StoreOutcome | StoreUnavailable]:
        """Each plan's outcome, in batch order. Every plan is settled (its counts journaled) before any file is
        replaced; a file that cannot be read or written fails the whole batch, and no file is replaced."""
        tallies = [OutcomeTally(self.store.name) for _ in batch]
        indexes = _indexes(self.datamap, self.store, batch)
        files = [_LogFile(path, wanted, self.hmac_key, _view(indexes, path, wanted))
                 for path, wanted in _files(batch, indexes).items()]  # fmt: skip
        try:
            for log_file in files:
                log_file.prepare(tallies, write=not dry_run, store=self.store.name)
            if dry_run:
                return [tally.outcome() for tally in tallies]
            settled: list[StoreOutcome | StoreUnavailable] = [
                settle(tally.outcome()) for (_, settle), tally in zip(batch, tallies, strict=True)
            ]
            try:
                for log_file in files:
                    log_file.commit(self.store.name)
            finally:  # a rewritten file's entries follow its lines (a file left as it was keeps them as they are)
                for index, paths in indexes.values():
                    for log_file in files:
                        if log_file.path in paths and log_file.replaced is not None:
                            index.rewritten(log_file.path, *log_file.replaced, log_file.members)
            return settled
        except (OSError, EOFError) as exc:
            failed = StoreUnavailable(self.store.name, f"cannot rewrite a log file: {_why(exc)}")
            return [failed for _ in batch]
        except StoreUnavailable as exc:
            return [exc for _ in batch]
        finally:
            for log_file in files:
                log_file.discard()

    def identifier_values(self) -> Iterator[tuple[str, str]]:
        """(kind, value) of every identifying field of every line of every file."""
        for collection in searched_collections(self.store):
            kinds = [(f.name, kind) for f in collection.fields
                     if (kind := self.datamap.identifier_kind(self.store, collection, f))]  # fmt: skip
            for path in log_files(collection.path or ""):
                with open_lines(path) as lines:
                    for entry in filter(None, map(parsed_line, lines)):
                        for name, kind in kinds:
                            yield from ((kind, text) for text in identifier_values(kind, lookup(entry, name)))

    def purge(self) -> None:
        """Nothing to do here: a rewritten file replaces the old one, which is unlinked (docs/deletion.md)."""

    def close(self) -> None:
        """Nothing stays open between erasures."""


@dataclass(frozen=True)
class _Wanted:
    """One plan's step for a file: the plan's place in the batch, the step, and the step's rank in the plan."""

    index: int
    step: CollectionStep
    rank: int
    plan: StorePlan


@dataclass
class _LogFile:
    path: Path
    wanted: list[_Wanted]
    hmac_key: bytes
    view: FileView | None = None  # what the log index says of the file (None: every line is read)
    temporary: str | None = None
    before: os.stat_result | None = None
    owners: dict[tuple[str, str], dict[str, list[_Wanted]]] = field(default_factory=dict)
    edits: list[Edit] = field(default_factory=list)  # the last pass's changed lines, at their old offsets
    replaced: tuple[int, list[Edit]] | None = None  # once the new file is in place: the old inode, the edits
    members: list[Member] | None = None  # a rewritten .gz file's members
    overwrites: list[tuple[Edit, indexed.Line]] | None = None  # in place: each line's overwrite, and the line
    scanned_to: int = 0  # in place: where the lines read end (lines appended later are read before committing)

    def __post_init__(self) -> None:
        # (field, kind) → value → the plans' steps that want it: a candidate line is parsed and matched once.
        for item in self.wanted:
            for target in item.step.match:
                values = self.owners.setdefault((target.field.name, target.kind), {})
                for value in target.values:
                    values.setdefault(value, []).append(item)
        self.finder = Finder(candidate_forms(value for values in self.owners.values() for value in values))

    def prepare(self, tallies: list[OutcomeTally], write: bool, store: str) -> None:
        """Count every plan's lines by action and, unless a dry run, write the new file beside the old one (or,
        in place, keep the overwrites for the commit)."""
        if self.view is not None:
            self._prepare_indexed(self.view, tallies, write)
            return
        for _ in range(ATTEMPTS):
            counted = [OutcomeTally(tally.store) for tally in tallies]
            if self._pass(counted, write):
                for tally, seen in zip(tallies, counted, strict=True):
                    _merge(tally, seen)
                return
        raise StoreUnavailable(store, f"{self.path.name} kept changing while it was rewritten")

    def commit(self, store: str) -> None:
        """Put the new file in place. A log that grew since it was read is read and written again first (the
        counts stay as settled; the lines appended meanwhile are judged like the others)."""
        if self.overwrites is not None:
            self._commit_in_place(store)
            return
        for _ in range(ATTEMPTS):
            if self.temporary is None:
                return
            if self.before is not None and _signature(os.stat(self.path)) == _signature(self.before):
                os.replace(self.temporary, self.path)
                self.temporary, self.replaced = None, (self.before.st_ino, list(self.edits))
                _fsync_directory(self.path.parent)
                return
            self._pass(None, write=True)
        raise StoreUnavailable(store, f"{self.path.name} kept changing while it was rewritten")

    def _prepare_indexed(self, view: FileView, tallies: list[OutcomeTally], write: bool) -> None:
        self.discard()
        self.before = os.stat(self.path)
        lines, self.scanned_to = indexed.candidates(self.path, view, self.finder)
        judged = [(line, verdict) for line in lines if (verdict := self._verdict(line.data, tallies)) is not None]
        self.edits = [indexed.edit_for(line, verdict) for line, verdict in judged]
        if not write or not judged:
            return
        if self.path.suffix != ".gz":
            overwrites = [(edit, line) for line, verdict in judged if (edit := indexed.overwrite_for(line, verdict))]
            if len(overwrites) == len(judged):
                self.overwrites = overwrites
                return
        self._write(lambda out: indexed.copy_spliced(self.path, out, self.edits),
                    lambda out: indexed.rewrite_members(self.path, view, self.edits, out))  # fmt: skip

    def _commit_in_place(self, store: str) -> None:
        """Overwrite the judged lines, then judge and overwrite any line appended since it was read; if the file is
        not the one read any more, or a masked line outgrows its line, the file is rewritten as a whole instead."""
        assert self.before is not None and self.overwrites is not None
        overwrites, done = self.overwrites, []
        self.overwrites = None
        for _ in range(ATTEMPTS):
            if not indexed.write_in_place(self.path, self.before.st_ino, overwrites):
                break
            done += [edit for edit, _ in overwrites]
            self.replaced = (self.before.st_ino, done)  # what is on disk, whatever happens next
            more, self.scanned_to = indexed.tail(self.path, self.scanned_to, self.finder)
            judged = [(line, verdict) for line in more if (verdict := self._verdict(line.data, None)) is not None]
            overwrites = [(edit, line) for line, verdict in judged if (edit := indexed.overwrite_for(line, verdict))]
            if not judged:
                return
            if len(overwrites) < len(judged):
                break
        self.view = None  # read and rewrite the whole file, as without an index
        self._pass(None, write=True)
        self.commit(store)

    def discard(self) -> None:
        if self.temporary is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.temporary)
            self.temporary = None

    def _pass(self, tallies: list[OutcomeTally] | None, write: bool) -> bool:
        """One read of the file, counting into `tallies` when given; True when the file did not change while it
        was read. With `write`, the new file is left at `self.temporary` when some line changes; without, nothing
        is written at all (a dry run only counts)."""
        self.discard()
        self.before = before = os.stat(self.path)
        if not write:
            self._copy(_Discard(), tallies)
            return _signature(os.stat(self.path)) == _signature(before)
        changed = False

        def copy(out: _Sink) -> None:
            nonlocal changed
            changed = self._copy(out, tallies)

        self._write(copy, copy)
        if not changed:
            self.discard()
        return _signature(os.stat(self.path)) == _signature(before)

    def _write(self, plain: Callable[[IO[bytes]], None], gz: Callable[[MemberWriter], None]) -> None:
        """The new file at `self.temporary` (same folder, mode and owner), written by `plain` or, for a .gz file,
        by `gz` as members (their starts kept in `self.members`), then fsynced."""
        assert self.before is not None
        descriptor, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        self.temporary = temporary
        with os.fdopen(descriptor, "wb") as raw:
            _keep_owner(raw, self.before)
            if self.path.suffix == ".gz":
                # Level 6, as gzip and logrotate write by default: a third of level 9's time for a few per cent more.
                writer = MemberWriter(raw, GZIP_LEVEL, int(self.before.st_mtime))
                gz(writer)
                writer.close()
                self.members = writer.members
            else:
                plain(raw)
            raw.flush()
            os.fsync(raw.fileno())

    def _copy(self, out: _Sink, tallies: list[OutcomeTally] | None) -> bool:
        """The file's bytes to `out`, the subjects' lines dropped or replaced; True when some line changed."""
        changed, position = False, 0  # position: the file offset of the block's first byte
        self.edits = []
        with open_lines(self.path) as stream:
            for block in scan_blocks(stream, self.finder, numbered=False):  # erasure needs no line numbers
                view, copied = memoryview(block.data), block.start
                for _, start, end in block.spans:
                    verdict = self._verdict(block.line(start, end), tallies)
                    if verdict is None:
                        continue
                    out.write(view[copied:start])
                    newline = block.data[end : end + 1] == b"\n"
                    if isinstance(verdict, bytes):
                        out.write(verdict)
                    else:
                        end += newline  # dropped: the line goes with its newline
                    at = position - block.start
                    self.edits.append(Edit(at + start, at + end, verdict if isinstance(verdict, bytes) else b"",
                                           newline and isinstance(verdict, bytes)))  # fmt: skip
                    copied, changed = end, True
                out.write(view[copied : block.end])
                position += block.end - block.start
        return changed

    def _verdict(self, line: bytes, tallies: list[OutcomeTally] | None) -> bytes | object | None:
        """None: the line stays as it is; DROP: it goes; else the bytes that replace it (its newline is kept)."""
        entry = parsed_line(line)
        mine = _owning_steps(entry, self.owners) if entry is not None else []
        if entry is None or not mine:
            return None
        dropped, masked = False, False
        for item in mine:
            step = item.step
            action, until = step.disposition(occurred_at(step.collection, _fields(entry, step)), item.plan.now)
            if tallies is not None:
                tallies[item.index].add(step.collection.name, action)
                if action == "retained" and step.retention:
                    tallies[item.index].exempted(step.collection.name, step.retention.exemption,
                                                 step.retention.statute, until)  # fmt: skip
            if action == "deleted":
                dropped = True
                continue
            new = masked_values(step.masks, _fields(entry, step), self.hmac_key)
            if any(lookup(entry, name) != value for name, value in new.items()):
                for name, value in new.items():
                    _assign(entry, name, value)
                masked = True
        if dropped:
            return DROP
        if not masked:
            return None
        return json.dumps(entry, ensure_ascii=False).encode() + (b"\r" if line.endswith(b"\r") else b"")


class _Sink(Protocol):
    def write(self, data: bytes | memoryview, /) -> int: ...


class _Discard:
    """Where a dry run's bytes go."""

    def write(self, data: bytes | memoryview, /) -> int:
        return len(data)


def _owning_steps(entry: dict[str, Any], owners: dict[tuple[str, str], dict[str, list[_Wanted]]]) -> list[_Wanted]:
    """For each plan whose values the entry holds, its first matching step (in plan order)."""
    best: dict[int, _Wanted] = {}
    for (name, kind), values in owners.items():
        value = lookup(entry, name)
        if value is None:
            continue
        for text in identifier_values(kind, value):
            for item in values.get(text, ()):
                if item.index not in best or item.rank < best[item.index].rank:
                    best[item.index] = item
    return [best[index] for index in sorted(best)]


Indexes = dict[str, tuple[CollectionIndex, dict[Path, FileView]]]


def _indexes(datamap: DataMap, store: Store, batch: Batch) -> Indexes:
    """Per collection with a usable log index, the index and the files it says hold some wanted value."""
    pairs: dict[str, set[tuple[str, str]]] = {}
    steps: dict[str, CollectionStep] = {}
    for plan, _ in batch:
        for step in plan.steps:
            steps[step.collection.name] = step
            wanted = pairs.setdefault(step.collection.name, set())
            wanted.update((target.kind, value) for target in step.match for value in target.values)
    found: Indexes = {}
    for name, step in steps.items():
        index = index_for(datamap, store, step.collection)
        views = index.search(log_files(step.collection.path or ""), pairs[name]) if index is not None else None
        if index is not None and views is not None:
            found[name] = (index, views)
    return found


def _view(indexes: Indexes, path: Path, wanted: list[_Wanted]) -> FileView | None:
    """What the index says of the file, when every collection wanting it is indexed (else every line is read)."""
    views = [indexes[item.step.collection.name][1].get(path) if item.step.collection.name in indexes else None
             for item in wanted]  # fmt: skip
    if not views or any(view is None for view in views):
        return None
    first = views[0]
    assert first is not None
    hits = sorted({hit for view in views if view is not None for hit in view.hits}, key=lambda hit: hit.offset)
    covered = min(view.covered for view in views if view is not None)
    return FileView(hits, covered, first.members, first.points)


def _files(batch: Batch, indexes: Indexes | None = None) -> dict[Path, list[_Wanted]]:
    """The files to rewrite: every file of each collection, or with an index only those it points at."""
    files: dict[Path, list[_Wanted]] = {}
    for index, (plan, _) in enumerate(batch):
        for rank, step in enumerate(plan.steps):
            indexed = (indexes or {}).get(step.collection.name)
            for path in log_files(step.collection.path or ""):
                if indexed is None or path in indexed[1]:
                    files.setdefault(path, []).append(_Wanted(index, step, rank, plan))
    return files


def _merge(tally: OutcomeTally, seen: OutcomeTally) -> None:
    for collection, actions in seen.counts.items():
        for action, records in actions.items():
            tally.add(collection, action, records)  # type: ignore[arg-type]  # actions come from a tally
    for (collection, code), (reason, records, until) in seen.exempt.items():
        tally.exempted(collection, code, reason, until, records)


def _fields(entry: dict[str, Any], step: CollectionStep) -> dict[str, Any]:
    return {f.name: value for f in step.collection.fields if (value := lookup(entry, f.name)) is not None}


def _assign(entry: dict[str, Any], name: str, value: Any) -> None:
    """Set a top-level member, or a nested one named with dots (`user.email`)."""
    if name in entry:
        entry[name] = value
        return
    *parents, last = name.split(".")
    node: Any = entry
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict) and last in node:
        node[last] = value


def _keep_owner(raw: IO[bytes], before: os.stat_result) -> None:
    os.fchmod(raw.fileno(), before.st_mode & 0o7777)
    with contextlib.suppress(PermissionError):
        os.fchown(raw.fileno(), before.st_uid, before.st_gid)


def _signature(status: os.stat_result) -> tuple[int, int, int]:
    return status.st_ino, status.st_size, status.st_mtime_ns


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _why(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
