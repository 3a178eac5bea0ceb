"""Candidate-line search over log blocks: true line numbers and byte spans, in ASCII and other text, with few
forms and many, across block edges."""

from __future__ import annotations

import io
import json
import random

import pytest

from services.common.stores.linescan import UNSAFE_FOR_BYTES, Finder, candidate_forms, scan_blocks


def spans(data: bytes, forms: tuple[str, ...], block_bytes: int | None = None) -> list[tuple[int, bytes]]:
    found = []
    for block in scan_blocks(io.BytesIO(data), Finder(forms), block_bytes):
        found += [(number, block.line(start, end)) for number, start, end in block.spans]
    return found


def naive(lines: list[bytes], values: list[str]) -> list[tuple[int, bytes]]:
    """The lines whose decoded `u` holds any value, lower-cased: what the fast search must agree with."""
    wanted = [value.lower() for value in values]
    return [(number, line) for number, line in enumerate(lines, 1)
            if any(value in json.loads(line)["u"].lower() for value in wanted)]  # fmt: skip


LINES = [b'{"u": "a@x.io"}', b'{"u": "b@x.io"}', b"", b'{"u": "A@X.IO", "n": 1}', b'{"u": "c"}', b'{"u": "a@x.io"}']


@pytest.mark.parametrize("block_bytes", [7, 16, 1 << 20])
def test_lines_straddling_blocks_keep_their_numbers(block_bytes: int) -> None:
    data = b"\n".join(LINES)
    assert spans(data, candidate_forms(["a@x.io"]), block_bytes) == [(1, LINES[0]), (4, LINES[3]), (6, LINES[5])]
    assert spans(data + b"\n", candidate_forms(["zz"]), block_bytes) == []


def test_text_that_is_not_ascii_maps_hits_back_to_byte_spans() -> None:
    lines = ['{"n": "José"}', '{"u": "A@X.io", "n": "Zoë"}', '{"n": "İstanbul", "u": "b@x.io"}', '{"u": "a@x.io"}']
    data = "\n".join(lines).encode()
    found = spans(data, candidate_forms(["a@x.io", "b@x.io"]))
    assert found == [(2, lines[1].encode()), (3, lines[2].encode()), (4, lines[3].encode())]


def test_bytes_that_are_not_utf8_do_not_shift_lines() -> None:
    data = b'{"n": "\xff\xfe"}\n{"u": "a@x.io", "n": "\xc3"}\n{"u": "b"}\n'
    assert spans(data, candidate_forms(["a@x.io"])) == [(2, b'{"u": "a@x.io", "n": "\xc3"}')]


def test_json_escaped_values_are_found() -> None:
    line = json.dumps({"u": "Zoë/x@x.io"}).encode().replace(b"/", b"\\/")  # Zo\u00eb\/x…, as some loggers write
    assert spans(line, candidate_forms(["ZOË/X@x.io"])) == [(1, line)]


def test_json_escapes_match_whatever_the_case_of_each_letter_that_is_not_ascii() -> None:
    """json.dumps writes É as \u00c9 and é as \u00e9: lower-casing the line cannot fold one into the other, so each
    such letter is searched in both cases, in every combination."""
    spellings = ("Émile.josé@x.io", "émile.JOSÉ@x.io", "emile.jose@x.io")
    lines = [json.dumps({"u": spelling}).encode() for spelling in spellings]
    assert lines[0].startswith(b'{"u": "\\u00c9mile.jos\\u00e9')
    assert spans(b"\n".join(lines), candidate_forms(["émile.josé@x.io"])) == [(1, lines[0]), (2, lines[1])]


def test_a_value_with_many_such_letters_keeps_its_forms_bounded() -> None:
    assert len(candidate_forms(["éèêëēėęàâ@x.io"])) < 20  # all-lower and all-upper only, not 2**9 spellings
    assert len(candidate_forms(["éè@x.io"])) > len(candidate_forms(["ee@x.io"]))


@pytest.mark.parametrize("wanted", [1, 3, 200])
def test_few_and_many_forms_agree_with_a_naive_search(wanted: int) -> None:
    rng = random.Random(wanted)
    names = ["ann", "bo", "Zoë", "İlkay", "chen"]
    lines = [json.dumps({"u": f"{rng.choice(names)}{rng.randrange(400)}@x.io", "ip": f"10.0.{rng.randrange(99)}.1"},
                        ensure_ascii=rng.random() < 0.5).encode() for _ in range(3000)]  # fmt: skip
    values = [f"{rng.choice(names).upper()}{rng.randrange(400)}@X.IO" for _ in range(wanted)]
    finder_forms = candidate_forms(values)
    data = b"\n".join(lines)
    assert spans(data, finder_forms, 4096) == naive(lines, values)


@pytest.mark.parametrize("block_bytes", [1, 2, 3, 5, 64])
def test_blocks_cover_every_byte_once_in_order(block_bytes: int) -> None:
    data = b"a\nbb\n\nccc\nlonger line here\nd"
    for source in (data, data + b"\n"):
        blocks = list(scan_blocks(io.BytesIO(source), Finder(()), block_bytes))
        assert b"".join(block.data[block.start : block.end] for block in blocks) == source
        assert all(not block.spans for block in blocks)
        offsets = [sum(b.end - b.start for b in blocks[:i]) for i in range(len(blocks))]
        assert [block.first_line for block in blocks] == [1 + source[:offset].count(b"\n") for offset in offsets]


def test_the_characters_whose_lower_case_is_ascii_are_the_ones_searched_as_text() -> None:
    unsafe = {chr(c).encode() for c in range(0x80, 0x110000) if any(ch.isascii() for ch in chr(c).lower())}
    assert unsafe == set(UNSAFE_FOR_BYTES)
    kelvin = '{"u": "\u212aate@x.io"}'.encode()  # KATE with a Kelvin sign lower-cases to kate
    assert spans(kelvin + b"\n" + b'{"u": "kate@x.io"}', candidate_forms(["kate@x.io"])) == [
        (1, kelvin), (2, b'{"u": "kate@x.io"}')]  # fmt: skip


def test_cached_line_counts_give_the_same_numbers_and_unnumbered_scans_skip_them() -> None:
    data = b"\n".join(LINES * 50)
    forms = candidate_forms(["a@x.io"])
    counts: list[int] = []
    first = [span for b in scan_blocks(io.BytesIO(data), Finder(forms), 64, line_counts=counts) for span in b.spans]
    assert counts and sum(counts) == data.count(b"\n")
    again = [span for b in scan_blocks(io.BytesIO(data), Finder(forms), 64, line_counts=counts) for span in b.spans]
    assert again == first and [number for number, _, _ in first][:3] == [1, 4, 6]
    bare = [span for b in scan_blocks(io.BytesIO(data), Finder(forms), 64, numbered=False) for span in b.spans]
    assert [(start, end) for _, start, end in bare] == [(start, end) for _, start, end in first]
    assert {number for number, _, _ in bare} == {0}
