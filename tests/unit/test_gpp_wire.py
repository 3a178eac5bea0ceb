"""GPP wire format: base64url, Fibonacci, the header (the reference's vectors, §5.3) and round trips."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.optout.gpp import (
    GppString,
    PrivacyStringError,
    base64url_to_bits,
    bits_to_base64url,
    decode_gpp,
    encode_fibonacci_range,
    encode_gpp,
    fibonacci_decode,
    fibonacci_encode,
)
from tests.gpp_strings import SECTION_IDS, USCA_CHOICES, usca

# --- Base64url and Fibonacci ----------------------------------------------------------------------------------


def test_base64url_reads_plus_and_slash_as_dash_and_underscore() -> None:
    assert base64url_to_bits("+/") == base64url_to_bits("-_") == "111110111111"


def test_base64url_pads_right_with_zeros_to_a_multiple_of_six_bits() -> None:
    assert bits_to_base64url("1") == "g"
    assert bits_to_base64url("000011000001") == "DB"


def test_a_character_outside_the_alphabet_is_named_with_its_position() -> None:
    with pytest.raises(PrivacyStringError, match=r"header: character '=' at position 2 is not base64url"):
        decode_gpp("DB=Bg~BUUAAABY.QA")


@pytest.mark.parametrize(
    ("value", "code"), [(1, "11"), (2, "011"), (3, "0011"), (4, "1011"), (5, "00011"), (7, "01011"), (8, "000011")]
)
def test_fibonacci_table(value: int, code: str) -> None:
    assert fibonacci_encode(value) == code
    assert fibonacci_decode(code) == value


def test_fibonacci_needs_a_positive_value_and_a_terminator() -> None:
    with pytest.raises(PrivacyStringError, match="expected an integer >= 1"):
        fibonacci_encode(0)
    with pytest.raises(PrivacyStringError, match="no terminating '11'"):
        fibonacci_decode("0101")


@given(st.integers(min_value=1, max_value=10**9))
def test_fibonacci_round_trips_and_has_no_early_terminator(value: int) -> None:
    code = fibonacci_encode(value)
    assert fibonacci_decode(code) == value
    assert code.find("11") == len(code) - 2


def test_sections_range_groups_consecutive_ids() -> None:
    # count 1; group flag 1; offset 5 = 00011; run end - start 1 = 11
    assert encode_fibonacci_range([6, 5]) == "000000000001" + "1" + "00011" + "11"


# --- Header ---------------------------------------------------------------------------------------------------


SAMPLE_BODIES = {6: "1YNN", 7: "CVQVAAAAAACA", 8: "BUUAAABY"}  # other ids: kept raw, any body will do


@pytest.mark.parametrize(
    ("header", "ids"),
    [
        ("DBABM", [2]),
        ("DBACNY", [2, 6]),
        ("DBABjw", [5, 6]),
        ("DBABBg", [8]),
        ("DBABL", [7]),
        ("DBABLA", [7]),
        ("DBACNYA", [2, 6]),
    ],
)
def test_header_vectors_decode(header: str, ids: list[int]) -> None:
    bodies = [SAMPLE_BODIES.get(section_id, "raw") for section_id in ids]
    assert decode_gpp("~".join([header, *bodies])).section_ids == ids


@pytest.mark.parametrize(
    ("ids", "header"), [([2], "DBABM"), ([2, 6], "DBACNY"), ([5, 6], "DBABjw"), ([8], "DBABBg"), ([7], "DBABL")]
)
def test_header_encodes_to_the_spec_vector_with_minimal_padding(ids: list[int], header: str) -> None:
    decoded = decode_gpp("~".join([header, *(SAMPLE_BODIES.get(section_id, "raw") for section_id in ids)]))
    assert encode_gpp(decoded).split("~")[0] == header


def test_header_type_other_than_3_is_refused() -> None:
    refusal = r"^header: Type is 2, expected 3: not a GPP string \(a GPP string starts with 'D'\)$"
    with pytest.raises(PrivacyStringError, match=refusal):
        decode_gpp("CBABBg~BUUAAABY.QA")


def test_header_version_other_than_1_is_refused() -> None:
    with pytest.raises(PrivacyStringError, match=r"^header: Version is 2, expected 1$"):
        decode_gpp("DCABBg~BUUAAABY.QA")


@pytest.mark.parametrize("text", ["DBABBg", "DBACNY~1YNN"])
def test_a_section_listed_in_the_header_without_a_body_is_refused(text: str) -> None:
    with pytest.raises(PrivacyStringError, match=r"gpp: header lists \d section\(s\) .* but the string has"):
        decode_gpp(text)


def test_a_crafted_huge_section_run_is_refused() -> None:
    bits = "000011" + "000001" + "000000000001" + "1" + "11" + fibonacci_encode(10**12)
    with pytest.raises(PrivacyStringError, match="header Sections: section id 1000000000001 is out of range"):
        decode_gpp(bits_to_base64url(bits))


def test_non_zero_padding_is_refused_when_strict_and_a_warning_when_lenient() -> None:
    with pytest.raises(PrivacyStringError, match="header: bits after bit 30 must be zero padding"):
        decode_gpp("DBABBh~BUUAAABY.QA")
    assert decode_gpp("DBABBh~BUUAAABY.QA", strict=False).warnings[0].startswith("header: bits after bit 30")


def test_unknown_sections_are_kept_raw_reported_and_re_encoded_unchanged() -> None:
    text = "DBACNY~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN"
    gpp = decode_gpp(text)
    assert gpp.raw_sections == {2: "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"}
    assert gpp.sections == {"uspv1": {"Version": 1, "Notice": "Y", "OptOutSale": "N", "LspaCovered": "N"}}
    assert gpp.warnings == ["section 2 (tcfeuv2) is not decoded; kept raw"]
    assert encode_gpp(gpp) == text


# --- Round trips (hypothesis) ---------------------------------------------------------------------------------

TRI = st.sampled_from([0, 1, 2])


def slots(count: int) -> st.SearchStrategy[list[int]]:
    return st.lists(TRI, min_size=count, max_size=count)


@st.composite
def usca_fields(draw: st.DrawFn) -> dict[str, Any]:
    fields: dict[str, Any] = {"Version": 1}
    for name in USCA_CHOICES:
        fields[name] = draw(TRI)
    fields |= {"SensitiveDataProcessing": draw(slots(9)), "KnownChildSensitiveDataConsents": draw(slots(2))}
    return _with_mspa_and_gpc(draw, fields)


@st.composite
def usnat_fields(draw: st.DrawFn) -> dict[str, Any]:
    version = draw(st.sampled_from([1, 2]))
    fields: dict[str, Any] = {"Version": version}
    for name in (
        "SharingNotice",
        "SaleOptOutNotice",
        "SharingOptOutNotice",
        "TargetedAdvertisingOptOutNotice",
        "SensitiveDataProcessingOptOutNotice",
        "SensitiveDataLimitUseNotice",
        "SaleOptOut",
        "SharingOptOut",
        "TargetedAdvertisingOptOut",
    ):
        fields[name] = draw(TRI)
    fields["SensitiveDataProcessing"] = draw(slots(12 if version == 1 else 16))
    fields["KnownChildSensitiveDataConsents"] = draw(slots(2 if version == 1 else 3))
    return _with_mspa_and_gpc(draw, fields)


def _with_mspa_and_gpc(draw: st.DrawFn, fields: dict[str, Any]) -> dict[str, Any]:
    fields |= {
        "PersonalDataConsents": draw(TRI),
        "MspaCoveredTransaction": draw(st.sampled_from([1, 2])),
        "MspaOptOutOptionMode": draw(TRI),
        "MspaServiceProviderMode": draw(TRI),
    }
    gpc = draw(st.none() | st.booleans())
    return fields if gpc is None else fields | {"Gpc": gpc}


@st.composite
def gpp_strings(draw: st.DrawFn) -> GppString:
    sections: dict[str, dict[str, Any]] = {}
    if draw(st.booleans()):
        sections["usca"] = draw(usca_fields())
    if draw(st.booleans()):
        sections["usnat"] = draw(usnat_fields())
    if draw(st.booleans()):
        flag = st.sampled_from(["Y", "N"])
        sections["uspv1"] = {"Version": 1, "Notice": draw(flag), "OptOutSale": draw(flag), "LspaCovered": draw(flag)}
    raw_ids = draw(st.sets(st.integers(min_value=1, max_value=60).filter(lambda i: i not in (3, 6, 7, 8))))
    return GppString(sections=sections, raw_sections={section_id: f"raw{section_id}" for section_id in raw_ids})


@given(usca_fields())
def test_usca_decode_of_encode_is_identity(fields: dict[str, Any]) -> None:
    assert usca(encode_gpp(GppString(sections={"usca": fields})).split("~")[1]) == fields


@given(usnat_fields())
def test_usnat_decode_of_encode_is_identity(fields: dict[str, Any]) -> None:
    gpp = decode_gpp(encode_gpp(GppString(sections={"usnat": fields})))
    assert gpp.sections == {"usnat": fields} and gpp.warnings == []


@given(gpp_strings())
def test_whole_string_round_trips_both_ways(gpp: GppString) -> None:
    text = encode_gpp(gpp)
    decoded = decode_gpp(text)
    assert (decoded.sections, decoded.raw_sections) == (gpp.sections, gpp.raw_sections)
    assert decoded.section_ids == sorted([*gpp.raw_sections, *(SECTION_IDS[name] for name in gpp.sections)])
    assert encode_gpp(decoded) == text


@given(st.text(alphabet="01", max_size=200))
def test_base64url_round_trips_bits_up_to_padding(bits: str) -> None:
    text = bits_to_base64url(bits)
    assert len(text) == -(-len(bits) // 6)
    assert base64url_to_bits(text) == bits + "0" * (-len(bits) % 6)


@pytest.mark.parametrize(
    "text",
    [
        "DBABBg~BUoAAABg.Q",
        "DBABL~CVQVAAAAAACA.Y",
        "DBABBg~BVWSSSVY.Y",
        "DBABBg~BUUAAABY",
        "DBACNY~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN",
    ],
)
def test_canonical_strings_re_encode_to_themselves(text: str) -> None:
    assert encode_gpp(decode_gpp(text)) == text


def test_library_padding_is_accepted_but_re_encoded_minimally() -> None:
    # iabgpp-es pads to a multiple of 8 bits, then 6: ".QA" and "DBABLA"; the spec's 6-bit padding gives ".Q", "DBABL"
    assert encode_gpp(decode_gpp("DBABBg~BUUAAABY.QA")) == "DBABBg~BUUAAABY.Q"
    assert encode_gpp(decode_gpp("DBACNYA~raw~1YNN")) == "DBACNY~raw~1YNN"
