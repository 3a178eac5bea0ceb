"""Gzip files as a run of members (RFC 1952 allows any number, and every reader joins them): where each member starts
is what makes a `.gz` log readable at an offset without inflating everything before it, and rewritable by
recompressing only the members an erasure changes.

The log index records each file's members as it inflates the file once (`inflated`). What this project writes
(`MemberWriter`) is cut into members of about `MEMBER_BYTES` of whole lines. A file written by another tool as one
member (gzip, logrotate) gets seek points instead: indexed_gzip's zran index (an inflate state and its 32 KiB
window every `POINT_SPACING` bytes), built when the log index indexes the file and kept beside it; the first
erasure that rewrites such a file leaves it in members.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import tempfile
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import indexed_gzip

log = logging.getLogger(__name__)
MEMBER_BYTES = 1 << 20  # uncompressed; at level 6 the members cost about 0.5 % more bytes than one member
READ_BYTES = 1 << 20
POINT_SPACING = 4 << 20  # a read inflates at most this much before its line; the points cost 32 KiB each
POINTS_FROM = 8 << 20  # a smaller one-member file is read from its start (a few ms), with no seek points


@dataclass(frozen=True)
class Member:
    coffset: int  # where its compressed bytes start in the file
    uoffset: int  # the uncompressed offset of its first byte


FIRST = Member(0, 0)


def inflated(
    path: Path, start: Member = FIRST, members: list[Member] | None = None
) -> Generator[tuple[int, bytes], None, None]:
    """The file's uncompressed bytes from the member `start` on, as (uncompressed offset, block); no block crosses
    the end of a member. Each member's start (`start` first) is appended to `members` when given. Raises EOFError for
    a file cut short inside a member, and zlib.error (or gzip.BadGzipFile) for bytes that are not gzip."""
    with path.open("rb") as raw:
        raw.seek(start.coffset)
        position, uoffset = start.coffset, start.uoffset  # position: the file offset of `buffer`'s first byte
        stream: zlib._Decompress | None = None
        buffer = raw.read(READ_BYTES)
        while True:
            if stream is None:  # at a member's start
                buffer = buffer or raw.read(READ_BYTES)
                if not buffer or not buffer.strip(b"\0"):  # the end, or the zero padding gzip allows after it
                    return
                if buffer[:2] != b"\x1f\x8b":
                    raise gzip.BadGzipFile(f"not a gzip member at byte {position}")
                stream = zlib.decompressobj(wbits=31)
                if members is not None:
                    members.append(Member(position, uoffset))
            out = stream.decompress(buffer)
            if out:
                yield uoffset, out
                uoffset += len(out)
            if stream.eof:
                rest = stream.unused_data
                position += len(buffer) - len(rest)
                buffer, stream = rest, None
                continue
            position += len(buffer)
            buffer = raw.read(READ_BYTES)
            if not buffer:
                raise EOFError("compressed file ended before the end-of-stream marker was reached")


def member_at(members: list[Member], offset: int) -> Member:
    """The member holding the uncompressed `offset` (the file's start when the members are unknown)."""
    found = FIRST
    for member in members:  # callers pass a few hundred at most; sorted by offset
        if member.uoffset > offset:
            break
        found = member
    return found


@contextlib.contextmanager
def reader_at(path: Path, member: Member) -> Iterator[IO[bytes]]:
    """A reader of the uncompressed bytes from `member` on (seek is relative to the member's first byte)."""
    with path.open("rb") as raw:
        raw.seek(member.coffset)
        with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
            yield stream  # type: ignore[misc]


def build_points(path: Path, target: Path) -> None:
    """Seek points for the .gz file at `path`, written atomically to `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(descriptor)
    try:
        with indexed_gzip.IndexedGzipFile(str(path), spacing=POINT_SPACING) as stream:
            stream.build_full_index()
            stream.export_index(temporary)
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


@contextlib.contextmanager
def reader_with_points(path: Path, points: Path | None) -> Iterator[IO[bytes]]:
    """A reader of the whole uncompressed file that seeks through `points` when they can be read (else from the
    file's start, with one warning)."""
    if points is not None:
        try:
            stream = indexed_gzip.IndexedGzipFile(str(path), spacing=POINT_SPACING, auto_build=False)
        except (OSError, ValueError, indexed_gzip.ZranError) as exc:
            log.warning("gzip seek points unusable: reading from the start", extra={"reason": type(exc).__name__})
        else:
            with stream:
                try:
                    stream.import_index(str(points))
                except (OSError, ValueError, indexed_gzip.ZranError) as exc:
                    log.warning("gzip seek points unusable: reading from the start",
                                extra={"reason": type(exc).__name__})  # fmt: skip
                else:
                    yield stream
                    return
    with reader_at(path, FIRST) as plain:
        yield plain


class MemberWriter:
    """Writes uncompressed bytes to `raw` as gzip members of about MEMBER_BYTES each, cut after a newline, and
    copies members of another file unchanged; `members` lists where each one starts."""

    def __init__(self, raw: IO[bytes], level: int, mtime: int) -> None:
        self.raw, self.level, self.mtime = raw, level, mtime
        self.members: list[Member] = []
        self.coffset = self.uoffset = 0
        self._pending = bytearray()

    def write(self, data: bytes | memoryview, /) -> int:
        self._pending += data
        if len(self._pending) >= 2 * MEMBER_BYTES:
            start = 0
            while len(self._pending) - start >= MEMBER_BYTES:
                cut = self._pending.find(b"\n", start + MEMBER_BYTES - 1) + 1
                if cut == 0:
                    break  # one very long line: it waits for its newline
                self._member(self._pending[start:cut])
                start = cut
            del self._pending[:start]
        return len(data)

    def end_member(self) -> None:
        """Close the member being written (the next bytes start a new one)."""
        data, start = self._pending, 0
        while len(data) - start > MEMBER_BYTES:
            cut = data.find(b"\n", start + MEMBER_BYTES - 1) + 1
            if cut == 0:
                break
            self._member(data[start:cut])
            start = cut
        if len(data) > start:
            self._member(data[start:])
        self._pending = bytearray()

    def copy(self, source: IO[bytes], coffset: int, clength: int, ulength: int) -> None:
        """One member of `source` (`clength` compressed bytes at `coffset`, `ulength` uncompressed) as it is."""
        self.end_member()
        self.members.append(Member(self.coffset, self.uoffset))
        self.raw.flush()
        _copy_range(source, self.raw, coffset, clength)
        self.coffset += clength
        self.uoffset += ulength

    def close(self) -> None:
        self.end_member()
        self.raw.flush()

    def _member(self, data: bytes | bytearray) -> None:
        self.members.append(Member(self.coffset, self.uoffset))
        blob = gzip.compress(data, compresslevel=self.level, mtime=self.mtime)
        self.raw.write(blob)
        self.coffset += len(blob)
        self.uoffset += len(data)


def _copy_range(source: IO[bytes], target: IO[bytes], offset: int, length: int) -> None:
    """Copy in the kernel where it can (copy_file_range), else through a buffer."""
    done = 0
    with contextlib.suppress(OSError, AttributeError):
        while done < length:
            sent = os.copy_file_range(source.fileno(), target.fileno(), length - done, offset + done)
            if sent == 0:
                break
            done += sent
    source.seek(offset + done)
    while done < length:
        block = source.read(min(READ_BYTES, length - done))
        if not block:
            raise EOFError("a gzip member ended before its recorded length")
        target.write(block)
        done += len(block)
    target.flush()
