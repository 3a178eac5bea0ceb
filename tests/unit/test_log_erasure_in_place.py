"""Erasure through the log index on real files: a plain log is edited in place (a dropped line becomes spaces, a
masked one is padded, nothing else moves, a process appending to the log keeps its file), a line appended between
the count and the commit is erased too, a masked line that outgrows its line makes the file be rewritten instead,
and a .gz file is rewritten as members so that the next erasure recompresses one member."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.common.datamap import DataMap, parse_datamap
from services.common.stores import gzmembers
from services.common.stores.jsonl import JsonLinesConnector
from services.deletion.erasure import plan_erasure
from services.deletion.erasure.jsonl import JsonLinesEraser
from services.deletion.erasure.outcome import Settle, StoreOutcome
from tests.log_index_support import indexed_logs, web

KEY = b"in-place-test-hmac-key-32-bytes!"


@pytest.fixture
def logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from indexed_logs(tmp_path, monkeypatch)


def datamap(folder: Path, device_strategy: str | None = None) -> DataMap:
    """Lines are dropped; with a `device_strategy`, the device is masked and the line kept (deidentified)."""
    deletion = f", deletion: {{strategy: {device_strategy}}}" if device_strategy else ""
    return parse_datamap(
        "business: Acme\nstores:\n  - name: web\n    kind: jsonl\n    collections:\n      - name: access\n"
        f"        path: {folder}/access.log\n        fields:\n"
        "          - {name: email, identifies: email, category: A}\n"
        f"          - {{name: device, identifies: device_id, category: A{deletion}}}\n"
        "          - {name: path, category: F}\n",
        "web.yaml",
    )  # fmt: skip


def record(email: str | None = None, device: str | None = None, path: str = "/") -> bytes:
    entry = {key: value for key, value in (("email", email), ("device", device), ("path", path)) if value}
    return json.dumps(entry).encode() + b"\n"


def erase(dm: DataMap, settle: Settle | None = None, **wanted: str) -> StoreOutcome:
    identifiers = {kind: frozenset([value]) for kind, value in wanted.items()}
    [store_plan] = [p for p in plan_erasure(dm, identifiers, now=datetime.now(UTC)).stores if p.store.name == "web"]
    [outcome] = JsonLinesEraser(dm, web(dm), KEY).erase_many([(store_plan, settle or (lambda outcome: outcome))])
    assert isinstance(outcome, StoreOutcome)
    return outcome


def found(dm: DataMap, **wanted: str) -> list[str]:
    identifiers = {kind: frozenset([value]) for kind, value in wanted.items()}
    return sorted(record.locator for record in JsonLinesConnector(dm, web(dm)).search(identifiers))


def test_a_plain_log_is_edited_in_place_and_its_writer_keeps_writing_to_it(logs: Path) -> None:
    log = logs / "access.log"
    kept, gone = record("bob@example.com"), record("ann@example.com", path="/secret")
    log.write_bytes(kept + gone + kept)
    dm = datamap(logs)
    assert found(dm, email="ann@example.com")  # the index is built
    inode = log.stat().st_ino
    with log.open("ab") as writer:  # a live process holding the log open
        outcome = erase(dm, email="ann@example.com")
        writer.write(record("carl@example.com"))
    assert outcome.counts["access"] == {"deleted": 1}
    assert log.stat().st_ino == inode, "the same file: not replaced"
    assert log.read_bytes() == kept + b" " * (len(gone) - 1) + b"\n" + kept + record("carl@example.com")
    assert found(dm, email="ann@example.com") == []
    assert found(dm, email="bob@example.com") == ["access.log@0", f"access.log@{len(kept) + len(gone)}"]
    assert found(dm, email="carl@example.com") == [f"access.log@{2 * len(kept) + len(gone)}"], "the writer's line"


def test_a_masked_line_is_padded_in_place(logs: Path) -> None:
    log = logs / "access.log"
    line = record(device="d" * 80, path="/kept")
    log.write_bytes(record("bob@example.com") + line)
    dm = datamap(logs, "hmac")
    assert found(dm, device_id="d" * 80)
    outcome = erase(dm, device_id="d" * 80)
    assert outcome.counts["access"] == {"deidentified": 1}
    masked = log.read_bytes()[len(record("bob@example.com")) :]
    assert len(masked) == len(line) and masked.endswith(b" \n") and b"d" * 80 not in masked
    assert json.loads(masked)["path"] == "/kept", "still one JSON object, with its other fields"
    assert found(dm, device_id="d" * 80) == []


def test_a_masked_line_that_outgrows_its_line_rewrites_the_file(logs: Path) -> None:
    log = logs / "access.log"
    log.write_bytes(record(device="d1", path="/kept") + record("bob@example.com"))
    dm = datamap(logs, "hmac")
    assert found(dm, device_id="d1")
    inode = log.stat().st_ino
    erase(dm, device_id="d1")  # the keyed hash is longer than "d1"
    lines = log.read_bytes().splitlines()
    assert log.stat().st_ino != inode, "rewritten, not edited in place"
    assert json.loads(lines[0])["path"] == "/kept" and b'"d1"' not in lines[0]
    assert found(dm, email="bob@example.com") == [f"access.log@{len(lines[0]) + 1}"], "the index followed"


def test_a_line_appended_between_the_count_and_the_commit_is_erased_too(logs: Path) -> None:
    log = logs / "access.log"
    log.write_bytes(record("ann@example.com") + record("bob@example.com"))
    dm = datamap(logs)
    assert found(dm, email="ann@example.com")

    def settle(outcome: StoreOutcome) -> StoreOutcome:
        with log.open("ab") as writer:  # the subject, active again while the plan was journaled
            writer.write(record("ann@example.com", path="/late") + b'{"email": "ann@exa')
        return outcome

    erase(dm, settle, email="ann@example.com")
    data = log.read_bytes()
    assert b"/late" not in data and b"ann@example.com" not in data, "the late line is erased as well"
    assert data.endswith(b'{"email": "ann@exa'), "a line still being written is its writer's"


def test_a_gz_log_is_rewritten_as_members_and_then_recompressed_one_member_at_a_time(
    logs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gzmembers, "MEMBER_BYTES", 4096)
    lines = [record(f"user{n}@example.com", path=f"/{n}") for n in range(2000)]
    archive = logs / "access.log.1.gz"
    archive.write_bytes(gzip.compress(b"".join(lines)))  # one member, as gzip writes it
    dm = datamap(logs)
    assert found(dm, email="user10@example.com")
    erase(dm, email="user10@example.com")
    first = archive.read_bytes()
    assert gzip.decompress(first) == b"".join(lines[:10] + lines[11:])
    assert first.count(b"\x1f\x8b\x08") > 10, "now in members"
    erase(dm, email="user1500@example.com")
    second = archive.read_bytes()
    assert gzip.decompress(second) == b"".join(lines[:10] + lines[11:1500] + lines[1501:])
    same_head = next(at for at, (a, b) in enumerate(zip(first, second, strict=False)) if a != b)
    same_tail = next(at for at, (a, b) in enumerate(zip(first[::-1], second[::-1], strict=False)) if a != b)
    assert same_head + same_tail > len(second) - 8192, "only the edited member differs"
    at = sum(map(len, lines[:1999])) - len(lines[10]) - len(lines[1500])
    assert found(dm, email="user1999@example.com") == [f"access.log.1.gz@{at}"], "the index followed both rewrites"
    assert found(dm, email="user1500@example.com") == []
