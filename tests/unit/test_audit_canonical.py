"""An entry's canonical bytes are RFC 8785's whichever encoder writes them (the stdlib's for plain values)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from services.audit.chain import ENTRY_FIELDS, canonical_entry

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12) | st.text(st.characters(max_codepoint=127), max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)  # fmt: skip


def entry(details: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {name: f'{name}-\x1f"\\/\x7f' for name in ENTRY_FIELDS}
    return fields | {"occurred_at": datetime(2026, 11, 4, 9, 0, 1, 5, tzinfo=UTC), "offset": 2**40, "details": details}


def rfc8785_bytes(fields: dict[str, Any]) -> bytes:
    return rfc8785.dumps({**fields, "occurred_at": "2026-11-04T09:00:01.000005+00:00"})


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_any_details_give_the_bytes_rfc8785_gives(details: dict[str, Any]) -> None:
    try:
        expected = rfc8785_bytes(entry(details))
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):
        return  # not a value an entry can hold (the chain never stores it)
    assert canonical_entry(entry(details)) == expected


def test_control_characters_large_integers_and_other_scripts_match() -> None:
    for details in ({"a": "\x00\x08\x0c\n\r\t\x1f"}, {"n": 2**53 - 1, "m": -(2**53) + 1}, {"é": "日本", "z": [1.5]},
                    {"b": [True, False, None, {"y": 1, "x": [2]}]}):  # fmt: skip
        assert canonical_entry(entry(details)) == rfc8785_bytes(entry(details))
