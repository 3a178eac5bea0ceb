"""Finding candidate lines in large log files fast: the files are read in blocks of whole lines, and one
multi-pattern search per block (Aho-Corasick, so a thousand wanted values cost what one does) picks the lines that
hold any wanted value as text. Only those lines are parsed by the callers; everything else is bytes they skip or
copy untouched.

The search is case-insensitive: blocks and forms are lower-cased. A pure-ASCII block is lower-cased as bytes
(offsets unchanged); a block with other text is decoded and lower-cased character by character, and its hits are
mapped back to byte offsets through line numbers, which decoding never shifts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

import ahocorasick_rs

BLOCK_BYTES = 8 << 20
FIND_LIMIT = 8  # up to this many forms, repeated str.find beats building an automaton


def candidate_forms(values: Iterable[str]) -> tuple[str, ...]:
    """Each wanted value as written and as JSON would escape it, lower-cased (emails are compared lower-cased)."""
    forms: set[str] = set()
    for value in values:
        # Escapes are compared lower-cased too, so \u00cb (Ë) and \u00eb (ë) are different forms: take both cases.
        cased = {value, value.lower(), value.upper(), _lower_in_place(value)}
        escaped = {form for text in cased
                   for form in (text, json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1])}  # fmt: skip
        forms.update(escaped | {form.replace("/", "\\/") for form in escaped})  # some loggers escape "/" too
    return tuple(sorted({lowered for form in forms if form for lowered in (form.lower(), _lower_in_place(form))}))


class Finder:
    """Offsets where any of the (lower-cased) forms occurs in a lower-cased haystack, bytes or text."""

    def __init__(self, forms: Iterable[str]) -> None:
        self.text_forms = tuple(sorted({form for form in forms if form}))
        self.byte_forms = tuple(form.encode() for form in self.text_forms)
        self._bytes_automaton: ahocorasick_rs.BytesAhoCorasick | None = None
        self._text_automaton: ahocorasick_rs.AhoCorasick | None = None

    def __bool__(self) -> bool:
        return bool(self.text_forms)

    def in_bytes(self, haystack: bytes) -> list[int]:
        if len(self.byte_forms) <= FIND_LIMIT:
            return _found(haystack, self.byte_forms)
        if self._bytes_automaton is None:
            self._bytes_automaton = ahocorasick_rs.BytesAhoCorasick(list(self.byte_forms))
        return [start for _, start, _ in self._bytes_automaton.find_matches_as_indexes(haystack)]

    def in_text(self, haystack: str) -> list[int]:
        if len(self.text_forms) <= FIND_LIMIT:
            return _found(haystack, self.text_forms)
        if self._text_automaton is None:
            self._text_automaton = ahocorasick_rs.AhoCorasick(list(self.text_forms))
        return [start for _, start, _ in self._text_automaton.find_matches_as_indexes(haystack)]


@dataclass
class Block:
    """Whole lines of a file; `spans` are the candidate lines as (line number, start, end), end before the newline."""

    data: bytes
    first_line: int
    spans: list[tuple[int, int, int]] = field(default_factory=list)

    def line(self, start: int, end: int) -> bytes:
        return self.data[start:end]


def scan_blocks(stream: IO[bytes], finder: Finder, block_bytes: int | None = None) -> Iterator[Block]:
    """Every block of the stream in order (all bytes, for callers that copy them), with its candidate lines."""
    size = block_bytes or BLOCK_BYTES
    first_line, carry = 1, b""
    while True:
        chunk = stream.read(size)
        buffer = carry + chunk if carry else chunk
        if not buffer:
            return
        cut = buffer.rfind(b"\n") + 1 if chunk else len(buffer)
        if cut == 0:
            carry = buffer  # a line longer than a block: keep reading until it ends
            continue
        data, carry = buffer[:cut], buffer[cut:]
        yield Block(data, first_line, _spans(data, finder, first_line) if finder else [])
        first_line += data.count(b"\n")
        if not chunk:
            return


def _spans(data: bytes, finder: Finder, first_line: int) -> list[tuple[int, int, int]]:
    if data.isascii():
        starts = sorted({data.rfind(b"\n", 0, hit) + 1 for hit in finder.in_bytes(data.lower())})
    else:
        text = data.decode("utf-8", "replace")
        lowered = _lower_in_place(text)
        starts = _byte_starts(data, text, sorted({lowered.rfind("\n", 0, hit) + 1 for hit in finder.in_text(lowered)}))
    spans, counted_to, number = [], 0, first_line
    for start in starts:
        number += data.count(b"\n", counted_to, start)
        counted_to = start
        end = data.find(b"\n", start)
        spans.append((number, start, len(data) if end == -1 else end))
    return spans


def _byte_starts(data: bytes, text: str, char_starts: list[int]) -> list[int]:
    """Byte offsets of the lines starting at these character offsets: the n-th line is the n-th line in both."""
    starts, line, char_at, byte_at = [], 0, 0, 0
    for char_start in char_starts:
        target = line + text.count("\n", char_at, char_start)
        while line < target:
            byte_at = data.index(b"\n", byte_at) + 1
            line += 1
        char_at = char_start
        starts.append(byte_at)
    return starts


def _lower_in_place(text: str) -> str:
    """Lower-cased without changing any offset: the few characters whose lower case is longer are kept."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(low if len(low := char.lower()) == 1 else char for char in text)


def _found(haystack: bytes | str, forms: tuple[bytes, ...] | tuple[str, ...]) -> list[int]:
    hits: list[int] = []
    for form in forms:
        position = haystack.find(form)  # type: ignore[arg-type]  # bytes in bytes, str in str
        while position != -1:
            hits.append(position)
            position = haystack.find(form, position + 1)  # type: ignore[arg-type]
    return hits
