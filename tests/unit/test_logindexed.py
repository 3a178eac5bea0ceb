"""The log index wired into the JSON-lines store, on real files: a search reads only the lines the index points
at (and re-checks them), finds a line written a moment ago, erasure rewrites only the files that hold matches and
leaves no stale entry, and a corrupt index falls back to the full scan with one warning and is rebuilt."""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.common.datamap import DataMap, parse_datamap
from services.common.stores import logindexed
from services.common.stores.jsonl import JsonLinesConnector
from services.deletion.erasure import plan_erasure
from services.deletion.erasure.jsonl import JsonLinesEraser
from services.deletion.erasure.jsonl import _files as erasure_files
from services.deletion.erasure.jsonl import _indexes as erasure_indexes
from tests.log_index_support import indexed_logs, web

KEY = b"logindexed-test-hmac-key-32-byte"


@pytest.fixture
def logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from indexed_logs(tmp_path, monkeypatch)


def datamap(folder: Path) -> DataMap:
    return parse_datamap(
        "business: Acme\nstores:\n  - name: web\n    kind: jsonl\n    collections:\n      - name: access\n"
        f"        path: {folder}/access.log\n        fields:\n"
        "          - {name: email, identifies: email, category: A}\n          - {name: path, category: F}\n",
        "web.yaml",
    )  # fmt: skip


def line(email: str, path: str = "/") -> bytes:
    return json.dumps({"email": email, "path": path}).encode() + b"\n"


def found(dm: DataMap, email: str) -> list[str]:
    records = JsonLinesConnector(dm, web(dm)).search({"email": frozenset([email])})
    return sorted(record.locator for record in records)


def write_logs(folder: Path) -> None:
    (folder / "access.log").write_bytes(line("ann@example.com", "/a") + line("bob@example.com") + b"not json\n")
    with gzip.open(folder / "access.log.1.gz", "wb") as packed:
        packed.write(line("carl@example.com") + line("ann@example.com", "/old"))
    (folder / "access.log.2").write_bytes(line("bob@example.com", "/b"))


def test_a_search_through_the_index_finds_old_and_fresh_lines(logs: Path) -> None:
    write_logs(logs)
    dm = datamap(logs)
    assert found(dm, "ann@example.com") == ["access.log.1.gz@43", "access.log@0"]
    assert (logs.parent / "index" / "web.access.sqlite").is_file(), "built on first use"
    with (logs / "access.log").open("ab") as out:
        out.write(line("Ann@Example.com", "/fresh"))  # written a moment ago
    assert len(found(dm, "ann@example.com")) == 3
    assert found(dm, "dora@example.com") == []


def test_the_line_is_the_truth_not_the_index(logs: Path) -> None:
    write_logs(logs)
    dm = datamap(logs)
    assert found(dm, "bob@example.com") == ["access.log.2@0", "access.log@43"]
    # Same length, same first bytes and inode, other content: the index still points there, the line disagrees.
    data = (logs / "access.log.2").read_bytes().replace(b"bob@", b"rob@")
    with (logs / "access.log.2").open("r+b") as out:
        out.write(data)
    assert found(dm, "bob@example.com") == ["access.log@43"]


def test_erasure_rewrites_only_matching_files_and_leaves_no_stale_entry(logs: Path) -> None:
    write_logs(logs)
    dm = datamap(logs)
    assert found(dm, "ann@example.com")
    plan = plan_erasure(dm, {"email": frozenset(["ann@example.com"])}, now=datetime.now(UTC)).stores
    [store_plan] = [p for p in plan if p.store.name == "web"]
    batch = [(store_plan, lambda outcome: outcome)]
    opened = sorted(path.name for path in erasure_files(batch, erasure_indexes(dm, web(dm), batch)))
    assert opened == ["access.log", "access.log.1.gz"], "a file without matches is not read nor rewritten"
    outcome = JsonLinesEraser(dm, web(dm), KEY).erase(store_plan)
    assert sum(outcome.counts.get("access", {}).values()) == 2
    assert found(dm, "ann@example.com") == [], "an erased line is never reported"
    assert found(dm, "bob@example.com") == ["access.log.2@0", "access.log@43"], "in place: nothing else moved"
    assert found(dm, "carl@example.com") == ["access.log.1.gz@0"]
    erased = len(line("ann@example.com", "/a")) - 1
    assert (logs / "access.log").read_bytes() == b" " * erased + b"\n" + line("bob@example.com") + b"not json\n"
    with gzip.open(logs / "access.log.1.gz", "rb") as packed:
        assert packed.read() == line("carl@example.com"), "the .gz is rewritten without the line"


def test_a_corrupt_index_falls_back_to_the_scan_once_and_is_rebuilt(
    logs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_logs(logs)
    dm = datamap(logs)
    assert found(dm, "ann@example.com")
    logindexed.close_all()
    index = logs.parent / "index" / "web.access.sqlite"
    for suffix in ("-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    index.write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.WARNING):
        assert found(dm, "ann@example.com") == ["access.log.1.gz:2", "access.log:1"], "the full scan answers"
        assert found(dm, "ann@example.com") == ["access.log.1.gz@43", "access.log@0"], "the rebuilt index answers"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "log index" in r.getMessage()]
    assert len(warnings) == 1
    assert "ann@" not in caplog.text
