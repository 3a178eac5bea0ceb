"""The log index on real files: growth, rotation, gz, truncation, erasure's rewrite."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from services.common.stores import logindex
from services.common.stores.logindex import Edit, IndexUnusable, LogIndex, read_line

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


def rewrite(log: Path, lines: list[bytes], verdicts: dict[int, bytes | None], tail: bytes = b"") -> list[Edit]:
    """Replace `log` as erasure does (a new file renamed over it): line i dropped (None) or replaced; the edits."""
    kept, edits, offset = b"", [], 0
    for number, old in enumerate(lines):
        if number in verdicts:
            replacement = verdicts[number]
            if replacement is None:
                edits.append(Edit(offset, offset + len(old), b"", False))
            else:
                edits.append(Edit(offset, offset + len(old) - 1, replacement, True))
                kept += replacement + b"\n"
        else:
            kept += old
        offset += len(old)
    fresh = log.with_name(log.name + ".tmp")
    if log.suffix == ".gz":
        fresh.write_bytes(gzip.compress(kept + tail))
    else:
        fresh.write_bytes(kept + tail)
    os.replace(fresh, log)
    return edits


def no_reindexing(index: LogIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(file: int, path: Path, start: int) -> None:
        assert start > 0, f"{path.name} indexed again from the start"
        original(file, path, start)

    original = index._index
    monkeypatch.setattr(index, "_index", refuse)


def test_a_rewritten_file_keeps_its_entries_moved_to_where_the_lines_now_are(
    tmp_path: Path, index: LogIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "app.log"
    lines = [line("a@x.com", 1), line("b@x.com", 2), line("a@x.com", 3), line("c@x.com", 4), line("b@x.com", 5)]
    log.write_bytes(b"".join(lines))
    index.refresh([log])
    inode = log.stat().st_ino
    masked = json.dumps({"email": "d@x.com", "n": 4, "note": "masked"}).encode()
    edits = rewrite(log, lines, {0: None, 2: None, 3: masked})
    assert index.rewritten(log, inode, edits)
    no_reindexing(index, monkeypatch)
    index.refresh([log])
    assert found(index, "a@x.com") == [] and found(index, "c@x.com") == []
    assert found(index, "b@x.com") == [line("b@x.com", 2), line("b@x.com", 5)]
    assert found(index, "d@x.com") == [masked + b"\n"], "the masked line is found by what it still holds"


def test_lines_written_after_the_last_refresh_are_indexed_once_the_file_is_rewritten(
    tmp_path: Path, index: LogIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "app.log"
    lines = [line("a@x.com", 1), line("b@x.com", 2)]
    log.write_bytes(b"".join(lines))
    index.refresh([log])
    inode = log.stat().st_ino
    tail = line("b@x.com", 3) + line("e@x.com", 4)  # appended, not yet indexed, kept by the rewrite
    edits = rewrite(log, lines, {0: None}, tail)
    assert index.rewritten(log, inode, edits)
    no_reindexing(index, monkeypatch)
    index.refresh([log])
    assert found(index, "b@x.com") == [line("b@x.com", 2), line("b@x.com", 3)]
    assert found(index, "e@x.com") == [line("e@x.com", 4)]


def test_a_gzipped_file_rewritten_keeps_its_entries_by_uncompressed_offset(
    tmp_path: Path, index: LogIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "app.log.1.gz"
    lines = [line("a@x.com", 1), line("b@x.com", 2), line("a@x.com", 3), line("b@x.com", 4)]
    log.write_bytes(gzip.compress(b"".join(lines)))
    index.refresh([log])
    inode = log.stat().st_ino
    assert index.rewritten(log, inode, rewrite(log, lines, {0: None, 2: None}))
    no_reindexing(index, monkeypatch)
    index.refresh([log])
    assert found(index, "b@x.com") == [line("b@x.com", 2), line("b@x.com", 4)]


def test_a_file_the_index_no_longer_describes_is_left_to_the_next_refresh(tmp_path: Path, index: LogIndex) -> None:
    log = tmp_path / "app.log"
    lines = [line("a@x.com", 1), line("b@x.com", 2)]
    log.write_bytes(b"".join(lines))
    index.refresh([log])
    inode = log.stat().st_ino
    edits = rewrite(log, lines, {0: None})
    index.refresh([log])  # another process met the new file first and indexed it
    assert not index.rewritten(log, inode, edits)
    assert found(index, "b@x.com") == [line("b@x.com", 2)] and found(index, "a@x.com") == []


def test_entries_follow_rewrites_across_many_chunks_and_rewrites(
    tmp_path: Path, index: LogIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of ~150 bytes (a few lines each): drops and masks in several chunks, a chunk emptied, lines appended
    between rewrites, three rewrites in a row; after each, the index finds exactly the lines the file holds."""
    monkeypatch.setattr(logindex, "CHUNK_BYTES", 150)
    people = [f"p{n}@x.com" for n in range(6)]
    log = tmp_path / "app.log"
    lines = [line(people[(n * 7) % 6 if n % 5 else 0], n) for n in range(60)]
    log.write_bytes(b"".join(lines))
    index.refresh([log])
    no_reindexing(index, monkeypatch)
    for round_, (gone, masked_person) in enumerate([(people[0], people[1]), (people[2], people[3]), (people[4], None)]):
        current = [raw + b"\n" for raw in log.read_bytes().splitlines()]
        verdicts: dict[int, bytes | None] = {}
        for number, raw in enumerate(current):
            email = json.loads(raw)["email"]
            if email == gone:
                verdicts[number] = None
            elif email == masked_person:
                verdicts[number] = json.dumps({"email": f"m{round_}@x.com", "n": number, "pad": "x" * round_}).encode()
        appended = line(people[5], 1000 + round_)
        inode = log.stat().st_ino
        assert index.rewritten(log, inode, rewrite(log, current, verdicts, tail=appended))
        index.refresh([log])
        held = [raw + b"\n" for raw in log.read_bytes().splitlines()]
        for email in [*people, *(f"m{n}@x.com" for n in range(3))]:
            assert found(index, email) == [raw for raw in held if json.loads(raw)["email"] == email], (round_, email)
