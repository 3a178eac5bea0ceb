"""The log index on real files: growth, rotation, gz, truncation, erasure's rewrite."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from services.common.stores.logindex import IndexUnusable, LogIndex, read_line

SECRET = b"k" * 32


def extract(line: bytes) -> Iterable[tuple[str, str]]:
    try:
        entry = json.loads(line)
    except ValueError:
        return []
    return [("email", entry["email"].lower())] if isinstance(entry, dict) and "email" in entry else []


def line(email: str, n: int = 0) -> bytes:
    return json.dumps({"email": email, "n": n}).encode() + b"\n"


def found(index: LogIndex, email: str) -> list[bytes]:
    return [read_line(hit) for hit in index.lookup([("email", email)])]


@pytest.fixture
def index(tmp_path: Path) -> LogIndex:
    return LogIndex(tmp_path / "idx" / "logs.sqlite", SECRET, extract)


def test_finds_lines_and_stores_no_value_in_clear(tmp_path: Path, index: LogIndex) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(line("a@x.com", 1) + line("b@x.com", 2) + line("a@x.com", 3))
    index.refresh([log])
    assert found(index, "a@x.com") == [line("a@x.com", 1), line("a@x.com", 3)]
    assert found(index, "c@x.com") == []
    index.close()
    assert b"a@x.com" not in (tmp_path / "idx" / "logs.sqlite").read_bytes()


def test_growth_indexes_only_the_tail_and_waits_for_a_partial_line(tmp_path: Path, index: LogIndex) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(line("a@x.com", 1))
    index.refresh([log])
    with log.open("ab") as out:
        out.write(line("a@x.com", 2) + line("b@x.com")[:5])
    index.refresh([log])
    assert found(index, "a@x.com") == [line("a@x.com", 1), line("a@x.com", 2)]
    with log.open("ab") as out:
        out.write(line("b@x.com")[5:])
    index.refresh([log])
    assert found(index, "b@x.com") == [line("b@x.com")]
    assert len(index.lookup([("email", "a@x.com")])) == 2  # the first lines were not indexed twice


def test_rotation_keeps_entries_and_indexes_the_new_file(tmp_path: Path, index: LogIndex) -> None:
    log, old = tmp_path / "app.log", tmp_path / "app.log.1"
    log.write_bytes(line("a@x.com", 1))
    index.refresh([log])
    log.rename(old)
    log.write_bytes(line("a@x.com", 2))
    index.refresh([log, old])
    hits = index.lookup([("email", "a@x.com")])
    assert sorted((hit.path.name, read_line(hit)) for hit in hits) == [
        ("app.log", line("a@x.com", 2)), ("app.log.1", line("a@x.com", 1))]  # fmt: skip


def test_gz_indexed_once_by_uncompressed_offset(tmp_path: Path, index: LogIndex) -> None:
    log = tmp_path / "app.log.2.gz"
    with gzip.open(log, "wb") as out:
        out.write(line("b@x.com") + line("a@x.com", 7))
    index.refresh([log])
    index.refresh([log])
    assert found(index, "a@x.com") == [line("a@x.com", 7)]


def test_truncated_or_replaced_file_is_indexed_again(tmp_path: Path, index: LogIndex) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(line("a@x.com", 1) + line("b@x.com", 2))
    index.refresh([log])
    with log.open("r+b") as out:  # same inode, shorter
        out.truncate(0)
        out.write(line("b@x.com", 3))
    index.refresh([log])
    assert found(index, "a@x.com") == []
    assert found(index, "b@x.com") == [line("b@x.com", 3)]


def test_erasure_rewrite_removes_deleted_lines_and_keeps_survivors(tmp_path: Path, index: LogIndex) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(line("a@x.com", 1) + line("b@x.com", 2) + line("a@x.com", 3))
    index.refresh([log])
    index.forget(log)
    fresh = tmp_path / "app.log.tmp"
    fresh.write_bytes(line("b@x.com", 2))
    os.replace(fresh, log)
    index.refresh([log])
    assert found(index, "a@x.com") == []
    assert found(index, "b@x.com") == [line("b@x.com", 2)]


def test_deleted_file_leaves_the_index(tmp_path: Path, index: LogIndex) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(line("a@x.com"))
    index.refresh([log])
    log.unlink()
    index.refresh([])
    assert index.lookup([("email", "a@x.com")]) == []


def test_corrupt_index_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "logs.sqlite"
    broken.write_bytes(b"not a database at all" * 100)
    with pytest.raises(IndexUnusable):
        LogIndex(broken, SECRET, extract)
