"""Gzip members and seek points on real files: where each member starts is found by inflating once, a line is
read from its member or its seek point (the bytes before it are not even valid gzip), the writer cuts members after
a newline, and a rewrite recompresses only the members an edit touches, copying the others byte for byte."""

from __future__ import annotations

import gzip
import json
import os
import zlib
from pathlib import Path

import pytest

from services.common.stores import gzmembers, logindex
from services.common.stores.gzmembers import Member, MemberWriter, inflated
from services.common.stores.logindex import Edit, FileView, Hit, LogIndex, read_line
from services.deletion.erasure.jsonl_indexed import rewrite_members, spliced


def lines(first: int, count: int) -> bytes:
    return b"".join(b'{"n": %d, "pad": "%s"}\n' % (n, b"x" * (n % 50)) for n in range(first, first + count))


def members_file(path: Path, parts: list[bytes]) -> list[Member]:
    """A file of one member per part, as `cat a.gz b.gz` or this project's writer leaves it."""
    starts, coffset, uoffset = [], 0, 0
    with path.open("wb") as out:
        for part in parts:
            blob = gzip.compress(part)
            starts.append(Member(coffset, uoffset))
            out.write(blob)
            coffset, uoffset = coffset + len(blob), uoffset + len(part)
    return starts


def test_inflating_once_finds_every_member_and_the_bytes(tmp_path: Path) -> None:
    parts = [lines(0, 100), lines(100, 7), lines(107, 300)]
    path = tmp_path / "a.log.gz"
    expected = members_file(path, parts)
    found: list[Member] = []
    data = b"".join(block for _, block in inflated(path, members=found))
    assert data == b"".join(parts)
    assert found == expected


def test_zero_padding_after_the_last_member_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "a.log.gz"
    path.write_bytes(gzip.compress(lines(0, 5)) + b"\0" * 512)
    assert b"".join(block for _, block in inflated(path)) == lines(0, 5)


def test_a_file_cut_short_or_not_gzip_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "a.log.gz"
    path.write_bytes(gzip.compress(lines(0, 500))[:-40])
    with pytest.raises(EOFError):
        list(inflated(path))
    path.write_bytes(gzip.compress(lines(0, 5)) + b"not gzip at all")
    with pytest.raises(gzip.BadGzipFile):
        list(inflated(path))


def test_a_line_is_read_from_its_member_not_from_the_start(tmp_path: Path) -> None:
    parts = [lines(0, 100), lines(100, 100), lines(200, 100)]
    path = tmp_path / "a.log.gz"
    members = members_file(path, parts)
    offset = len(parts[0]) + len(parts[1]) + parts[2].index(b'{"n": 250')
    length = parts[2].index(b"\n", offset - members[2].uoffset) + 1 - (offset - members[2].uoffset)
    raw = bytearray(path.read_bytes())
    raw[20 : members[1].coffset - 20] = b"\0" * (members[1].coffset - 40)  # the first member is garbage now
    path.write_bytes(bytes(raw))
    assert read_line(Hit(path, offset, length), members).startswith(b'{"n": 250,')
    with pytest.raises((zlib.error, EOFError, OSError)):
        read_line(Hit(path, offset, length), [])  # from the start: through the garbage


def test_the_writer_cuts_members_after_a_newline_and_each_member_stands_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gzmembers, "MEMBER_BYTES", 4096)
    data = lines(0, 2000)
    path = tmp_path / "out.gz"
    with path.open("wb") as raw:
        writer = MemberWriter(raw, 6, 0)
        for at in range(0, len(data), 10_000):  # writes that cut lines anywhere
            writer.write(data[at : at + 10_000])
        writer.close()
    assert gzip.decompress(path.read_bytes()) == data
    assert len(writer.members) > 10
    blob = path.read_bytes()
    ends = [m.coffset for m in writer.members[1:]] + [len(blob)]
    uends = [m.uoffset for m in writer.members[1:]] + [len(data)]
    for member, cend, uend in zip(writer.members, ends, uends, strict=True):
        alone = zlib.decompress(blob[member.coffset : cend], wbits=31)
        assert alone == data[member.uoffset : uend] and alone.endswith(b"\n")
        assert len(alone) >= 4096 or uend == len(data)


def test_spliced_replaces_edits_that_cross_blocks() -> None:
    data = b"0123456789" * 3
    blocks = [(at, data[at : at + 7]) for at in range(0, len(data), 7)]
    edits = [Edit(5, 9, b"abc", False), Edit(13, 22, b"", False), Edit(29, 30, b"Z", False)]
    assert b"".join(spliced(blocks, edits)) == data[:5] + b"abc" + data[9:13] + data[22:29] + b"Z"


def test_a_rewrite_recompresses_only_the_edited_member(tmp_path: Path) -> None:
    parts = [lines(0, 100), lines(100, 100), lines(200, 100)]
    path = tmp_path / "a.log.gz"
    members = members_file(path, parts)
    before = path.read_bytes()
    start = members[1].uoffset + parts[1].index(b'{"n": 150,')
    end = parts[1].index(b"\n", start - members[1].uoffset) + 1 + members[1].uoffset
    out_path = tmp_path / "b.log.gz"
    with out_path.open("wb") as raw:
        writer = MemberWriter(raw, 6, 0)
        rewrite_members(path, FileView([], sum(map(len, parts)), members), [Edit(start, end, b"", False)], writer)
        writer.close()
    after = out_path.read_bytes()
    everything = b"".join(parts)
    assert gzip.decompress(after) == everything[:start] + everything[end:]
    assert after[: members[1].coffset] == before[: members[1].coffset], "the first member copied as it was"
    last = len(before) - members[2].coffset
    assert after[-last:] == before[members[2].coffset :], "the last member copied as it was"
    assert [m.uoffset for m in writer.members] == [0, members[1].uoffset, members[2].uoffset - (end - start)]


def test_an_edit_running_across_a_member_boundary_takes_both_members(tmp_path: Path) -> None:
    data = lines(0, 50)
    cut = data.index(b'{"n": 20,') + 5  # another tool cut its members inside a line
    path = tmp_path / "a.log.gz"
    members = members_file(path, [data[:cut], data[cut:]])
    start = cut - 5
    end = data.index(b"\n", cut) + 1
    out_path = tmp_path / "b.log.gz"
    with out_path.open("wb") as raw:
        writer = MemberWriter(raw, 6, 0)
        rewrite_members(path, FileView([], len(data), members), [Edit(start, end, b"", False)], writer)
        writer.close()
    assert gzip.decompress(out_path.read_bytes()) == data[:start] + data[end:]


def _extract_n(line: bytes) -> list[tuple[str, str]]:
    try:
        return [("n", str(json.loads(line)["n"]))]
    except (ValueError, KeyError):
        return []


def test_a_one_member_gz_gets_seek_points_and_a_line_is_read_through_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gzmembers, "POINT_SPACING", 256 << 10)
    monkeypatch.setattr(logindex, "POINTS_FROM", 1 << 20)
    data = b"".join(b'{"n": %d, "noise": "%s"}\n' % (n, os.urandom(24).hex().encode()) for n in range(60_000))
    path = tmp_path / "a.log.gz"
    path.write_bytes(gzip.compress(data))  # one member, as gzip writes it
    index = LogIndex(tmp_path / "idx" / "logs.sqlite", b"k" * 32, _extract_n)
    index.refresh([path])
    view = index.search([("n", "59000")])[path]
    assert view.points is not None and view.points.is_file() and len(view.members) == 1
    [hit] = view.hits
    raw = bytearray(path.read_bytes())
    raw[100 : len(raw) // 2] = b"\0" * (len(raw) // 2 - 100)  # the first half is garbage now
    path.write_bytes(bytes(raw))
    assert read_line(hit, view.members, view.points) == data[hit.offset : hit.offset + hit.length]
    with pytest.raises((zlib.error, EOFError, OSError)):
        read_line(hit, view.members)  # from the start: through the garbage
    index.refresh([])  # the file is gone from the collection: its points go with its entries
    assert not view.points.exists()
    index.close()


def test_small_or_member_files_get_no_seek_points(tmp_path: Path) -> None:
    index = LogIndex(tmp_path / "idx" / "logs.sqlite", b"k" * 32, _extract_n)
    small = tmp_path / "small.log.gz"
    small.write_bytes(gzip.compress(lines(0, 100)))
    index.refresh([small])
    assert index.search([("n", "5")])[small].points is None
    index.close()
