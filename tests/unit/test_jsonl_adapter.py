"""The JSON-lines adapter's file access every service shares: which files a collection's glob names, in which
order, and how they are opened (gzip transparently, bytes that are not UTF-8 read as U+FFFD)."""

from __future__ import annotations

import gzip
from pathlib import Path

from services.common.stores.jsonl import log_files, open_lines, open_text


def test_log_files_name_the_glob_and_its_rotations_only(tmp_path: Path) -> None:
    for name in ("app.log", "app.log.1", "app.log.2.gz", "app.log.gz", "app.log.bak", "other.log"):
        (tmp_path / name).write_text("")
    (tmp_path / "app.log.3").mkdir()  # a folder is not a log file
    assert [p.name for p in log_files(str(tmp_path / "app.log"))] == ["app.log", "app.log.1", "app.log.2.gz",
                                                                      "app.log.gz"]  # fmt: skip
    assert [p.name for p in log_files(str(tmp_path / "app.log"), current_first=True)] == [
        "app.log", "app.log.1", "app.log.2.gz", "app.log.gz"
    ]  # fmt: skip
    assert log_files(str(tmp_path / "missing" / "*.log")) == []


def test_gzipped_and_plain_files_open_alike(tmp_path: Path) -> None:
    lines = b'{"email": "ann@example.com"}\n{"note": "caf\xc3\xa9 \xff"}\n'
    (tmp_path / "a.log").write_bytes(lines)
    with gzip.open(tmp_path / "a.log.1.gz", "wb") as packed:
        packed.write(lines)
    for name in ("a.log", "a.log.1.gz"):
        with open_lines(tmp_path / name) as raw:
            assert raw.read() == lines
        with open_text(tmp_path / name) as text:
            assert text.readlines()[1] == '{"note": "café \ufffd"}\n'
