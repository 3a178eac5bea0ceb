"""Erasure where the log index points at the lines (docs/log-index.md): only those lines are read, plus any line
written after the index last caught up, instead of every byte of every log.

- A plain file is edited in place. A dropped line's bytes are overwritten with spaces, so a blank line of the same
  length stays. A masked line is written over the old one, padded with spaces (JSON allows trailing whitespace).
  Nothing else in the file moves, so a process still appending to the log keeps writing to the same file. The
  subject's bytes are overwritten where they lie on disk, not left in the blocks of an unlinked copy. A masked line
  longer than the line it replaces cannot be written in place, and that file is rewritten instead.
- A `.gz` file is rewritten, but only the gzip members holding an edited line are inflated and compressed again;
  the others are copied as they are, in the kernel. A file of one member (as gzip and logrotate write it) is
  recompressed whole once, into members of about 1 MiB, and later erasures touch one member each.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from services.common.stores.gzmembers import Member, MemberWriter, inflated
from services.common.stores.linescan import Finder, scan_blocks
from services.common.stores.logindex import Edit, FileView, Hit
from services.common.stores.logindexed import read_lines


@dataclass(frozen=True)
class Line:
    start: int  # file offset (uncompressed for .gz) of the line's first byte
    data: bytes  # without its newline
    newline: bool


def candidates(path: Path, view: FileView, finder: Finder) -> tuple[list[Line], int]:
    """The lines the index points at, each checked to start and end a line (the index is a hint), and, in a plain
    file, every candidate line written past what the index covered; with the offset read up to."""
    found: list[Line] = []
    widened = [Hit(hit.path, hit.offset - 1, hit.length + 1) if hit.offset else hit for hit in view.hits]
    for hit, data in read_lines(path, widened, view.members, view.points):
        if hit.offset and data[:1] != b"\n":
            continue  # not at a line's start any more
        body = data[1:] if hit.offset else data
        newline = body.endswith(b"\n")
        found.append(Line(hit.offset + 1 if hit.offset else 0, body[:-1] if newline else body, newline))
    end = view.covered
    if path.suffix != ".gz":
        more, end = tail(path, view.covered, finder)
        found += more
    return sorted(found, key=lambda line: line.start), end


def tail(path: Path, start: int, finder: Finder) -> tuple[list[Line], int]:
    """The candidate lines of a plain file from `start` (a line's start) to its end, and the offset of the end of
    its last complete line (a line still being written is left for its writer to finish)."""
    found: list[Line] = []
    with path.open("rb") as stream:
        stream.seek(start)
        position, complete = start, start  # position: the file offset of the block's first byte
        for block in scan_blocks(stream, finder, numbered=False):
            at = position - block.start
            for _, begin, finish in block.spans:
                if block.data[finish : finish + 1] == b"\n":
                    found.append(Line(at + begin, bytes(block.line(begin, finish)), True))
            cut = block.data.rfind(b"\n", block.start, block.end)
            if cut >= 0:
                complete = at + cut + 1
            position += block.end - block.start
    return found, complete


def edit_for(line: Line, verdict: bytes | object) -> Edit:
    """The edit in rewrite form (as erasure.jsonl records it): a dropped line goes with its newline."""
    if isinstance(verdict, bytes):
        return Edit(line.start, line.start + len(line.data), verdict, line.newline)
    return Edit(line.start, line.start + len(line.data) + line.newline, b"", False)


def overwrite_for(line: Line, verdict: bytes | object) -> Edit | None:
    """The edit as an overwrite of the line's bytes (its newline stays): spaces for a dropped line, the masked
    line padded with spaces before any carriage return; None when the masked line is longer than the line."""
    length = len(line.data)
    if not isinstance(verdict, bytes):
        return Edit(line.start, line.start + length, b" " * length, line.newline)
    room = length - len(verdict)
    if room < 0:
        return None
    body, cr = (verdict[:-1], b"\r") if verdict.endswith(b"\r") else (verdict, b"")
    return Edit(line.start, line.start + length, body + b" " * room + cr, line.newline)


def write_in_place(path: Path, inode: int, overwrites: list[tuple[Edit, Line]]) -> bool:
    """Overwrite each line, after checking it is still the line that was judged, then fsync. False, with nothing
    written, when the path is another file now or a line is no longer where it was."""
    descriptor = os.open(path, os.O_RDWR)
    try:
        if os.fstat(descriptor).st_ino != inode:
            return False
        for _, line in overwrites:
            if os.pread(descriptor, len(line.data), line.start) != line.data:
                return False
        for edit, _ in overwrites:
            os.pwrite(descriptor, edit.replacement, edit.start)
        os.fsync(descriptor)
        return True
    finally:
        os.close(descriptor)


def spliced(blocks: Iterable[tuple[int, bytes]], edits: list[Edit]) -> Iterator[bytes | memoryview]:
    """The contiguous `blocks` ((offset, bytes), ascending) with each edit's old bytes replaced."""
    queue = iter(sorted(edits, key=lambda edit: edit.start))
    edit, emitted = next(queue, None), False
    for offset, data in blocks:
        view, at, limit = memoryview(data), 0, offset + len(data)
        while edit is not None and edit.start < limit:
            if not emitted:
                yield view[at : edit.start - offset]
                yield edit.replacement
                emitted = True
            at = max(at, min(edit.end, limit) - offset)
            if edit.end > limit:
                break
            edit, emitted = next(queue, None), False
        yield view[at:]


def copy_spliced(path: Path, out: IO[bytes], edits: list[Edit]) -> None:
    """A plain file rewritten with the edits (for a masked line that outgrew its line)."""
    with path.open("rb") as stream:
        blocks = _blocks(stream)
        for piece in spliced(blocks, edits):
            out.write(piece)


def rewrite_members(path: Path, view: FileView, edits: list[Edit], out: MemberWriter) -> None:
    """A .gz file rewritten with the edits: the members holding none are copied as they are, the others (with any
    member an edited line runs into) are inflated, edited and compressed again."""
    members = view.members or [Member(0, 0)]
    size = path.stat().st_size
    # The last member is inflated to the file's end whatever the index recorded: no byte is ever cut off.
    ends = [(after.coffset, after.uoffset) for after in members[1:]] + [(size, sys.maxsize)]
    pending = sorted(edits, key=lambda edit: edit.start)
    with path.open("rb") as source:
        at = 0
        while at < len(members):
            member, (cend, uend) = members[at], ends[at]
            mine = [edit for edit in pending if edit.start < uend and edit.end > member.uoffset]
            if not mine:
                last_length = max(view.covered - member.uoffset, 0)  # only counted: nothing follows the last member
                out.copy(source, member.coffset, cend - member.coffset,
                         last_length if uend == sys.maxsize else uend - member.uoffset)  # fmt: skip
                at += 1
                continue
            last = at  # an edited line that runs past the member's end takes the next member in too
            while last + 1 < len(members) and max(edit.end for edit in mine) > ends[last][1]:
                last += 1
                mine = [edit for edit in pending if edit.start < ends[last][1] and edit.end > member.uoffset]
            stop = ends[last][1]
            blocks = inflated(path, member)
            try:
                for piece in spliced(_until(blocks, stop), mine):
                    out.write(piece)
            finally:
                blocks.close()
            out.end_member()
            at = last + 1


def _until(blocks: Iterator[tuple[int, bytes]], stop: int) -> Iterator[tuple[int, bytes]]:
    for offset, data in blocks:
        if offset >= stop:
            return
        yield offset, data[: stop - offset]
        if offset + len(data) >= stop:
            return


def _blocks(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    offset = 0
    while block := stream.read(8 << 20):
        yield offset, block
        offset += len(block)
