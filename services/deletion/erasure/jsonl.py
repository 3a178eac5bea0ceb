"""JSON-lines erasure: every log file of a collection (rotated and gzipped ones too) is rewritten without the
subject's lines, or with their fields masked. A temporary file in the same folder (same mode, gzip kept) is
fsynced and then replaces the original atomically; untouched lines are copied byte for byte.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from services.common.datamap.model import DataMap, Store
from services.common.stores.base import StoreUnavailable
from services.common.stores.jsonl import candidate_forms, log_files, lookup
from services.common.stores.values import SearchField, identifier_values, occurred_at, searched_collections
from services.deletion.erasure.outcome import Action, OutcomeTally, Settle, StoreOutcome, unsettled
from services.deletion.erasure.plan import CollectionStep, StorePlan
from services.deletion.erasure.strategies import masked_values

ATTEMPTS = 3  # a file that keeps growing while it is rewritten (a live log) is tried again this many times
Verdict = tuple[CollectionStep, Action, datetime | None, bytes | None]  # step, action, retained until, new line


class JsonLinesEraser:
    def __init__(self, datamap: DataMap, store: Store, hmac_key: bytes) -> None:
        self.datamap = datamap
        self.store = store
        self.hmac_key = hmac_key

    def erase(self, plan: StorePlan, settle: Settle = unsettled, dry_run: bool = False) -> StoreOutcome:
        tally = OutcomeTally(self.store.name)
        try:
            files = [_LogFile(path, steps, plan.now, self.hmac_key) for path, steps in _files(plan.steps).items()]
            changed = [log_file for log_file in files if log_file.classify(tally)]
            if dry_run:
                return tally.outcome()
            outcome = settle(tally.outcome())
            for log_file in changed:
                log_file.rewrite(self.store.name)
            return outcome
        except (OSError, EOFError) as exc:
            raise StoreUnavailable(self.store.name, f"cannot rewrite a log file: {_why(exc)}") from None

    def identifier_values(self) -> Iterator[tuple[str, str]]:
        """(kind, value) of every identifying field of every line of every file."""
        for collection in searched_collections(self.store):
            kinds = [(f.name, kind) for f in collection.fields
                     if (kind := self.datamap.identifier_kind(self.store, collection, f))]  # fmt: skip
            for path in log_files(collection.path or ""):
                with _open(path) as lines:
                    for entry in filter(None, map(_parsed, lines)):
                        for name, kind in kinds:
                            yield from ((kind, text) for text in identifier_values(kind, lookup(entry, name)))

    def close(self) -> None:
        """Nothing stays open between erasures."""


class _LogFile:
    def __init__(self, path: Path, steps: list[CollectionStep], now: datetime, hmac_key: bytes) -> None:
        self.path, self.steps, self.now, self.hmac_key = path, steps, now, hmac_key
        self.wanted = {id(step): [(t, frozenset(t.values)) for t in step.match] for step in steps}
        forms = candidate_forms([value for step in steps for target in step.match for value in target.values])
        self.candidates = re.compile("|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True)))

    def classify(self, tally: OutcomeTally) -> bool:
        """Count the subject's lines by action; True when the file has any to change."""
        changes = False
        with _open(self.path) as lines:
            for line in lines:
                verdict = self.verdict(line)
                if verdict:
                    step, action, until, new = verdict
                    tally.add(step.collection.name, action)
                    if action == "retained" and step.retention:
                        tally.exempted(step.collection.name, step.retention.exemption, step.retention.statute, until)
                    changes = changes or new != line
        return changes

    def verdict(self, line: bytes) -> Verdict | None:
        """None for a line no step matches; else the step, the action and the line that replaces it (None: dropped)."""
        # Only lines holding a wanted value as text are parsed; candidate forms are lower-cased.
        entry = _parsed(line) if self.candidates.search(line.decode("utf-8", "replace").lower()) else None
        step = next((step for step in self.steps if entry and _matches(entry, self.wanted[id(step)])), None)
        if step is None or entry is None:
            return None
        action, until = step.disposition(occurred_at(step.collection, _fields(entry, step)), self.now)
        if action == "deleted":
            return step, action, until, None
        new = masked_values(step.masks, _fields(entry, step), self.hmac_key)
        if all(lookup(entry, name) == value for name, value in new.items()):
            return step, action, until, line
        for name, value in new.items():
            _assign(entry, name, value)
        ending = b"\r\n" if line.endswith(b"\r\n") else b"\n" if line.endswith(b"\n") else b""
        return step, action, until, json.dumps(entry, ensure_ascii=False).encode() + ending

    def rewrite(self, store: str) -> None:
        for _ in range(ATTEMPTS):
            if self._rewrite_once():
                return
        raise StoreUnavailable(store, f"{self.path.name} kept changing while it was rewritten")

    def _rewrite_once(self) -> bool:
        before = os.stat(self.path)
        descriptor, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as raw:
                _keep_owner(raw, before)
                with _writer(raw, self.path, before) as out, _open(self.path) as lines:
                    for line in lines:
                        verdict = self.verdict(line)
                        replacement = verdict[3] if verdict else line
                        if replacement is not None:
                            out.write(replacement)
                raw.flush()
                os.fsync(raw.fileno())
            if _signature(os.stat(self.path)) != _signature(before):
                return False
            os.replace(temporary, self.path)
            _fsync_directory(self.path.parent)
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)


def _files(steps: tuple[CollectionStep, ...]) -> dict[Path, list[CollectionStep]]:
    files: dict[Path, list[CollectionStep]] = {}
    for step in steps:
        for path in log_files(step.collection.path or ""):
            files.setdefault(path, []).append(step)
    return files


def _matches(entry: dict[str, Any], wanted: list[tuple[SearchField, frozenset[str]]]) -> bool:
    for target, values in wanted:
        value = lookup(entry, target.field.name)
        if value is not None and any(text in values for text in identifier_values(target.kind, value)):
            return True
    return False


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


def _parsed(line: bytes) -> dict[str, Any] | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


def _open(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]  # GzipFile is a binary IO
    return path.open("rb")


@contextlib.contextmanager
def _writer(raw: IO[bytes], path: Path, before: os.stat_result) -> Iterator[IO[bytes]]:
    if path.suffix != ".gz":
        yield raw
        return
    with gzip.GzipFile(filename=path.stem, mode="wb", fileobj=raw, mtime=int(before.st_mtime)) as compressed:
        yield compressed  # type: ignore[misc]


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
