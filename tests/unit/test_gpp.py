"""GPP and US Privacy codec: the reference's vectors (§5.3, §5.4), round trips, the California mapping and the CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from services.common.sensitive import SENSITIVE_CATEGORIES
from services.optout.gpp import (
    USCA_SENSITIVE_SLOTS,
    CaliforniaChoices,
    GppString,
    PrivacyStringError,
    UsPrivacy,
    base64url_to_bits,
    bits_to_base64url,
    california_choices,
    decode_gpp,
    decode_usp,
    encode_fibonacci_range,
    encode_gpp,
    encode_usp,
    fibonacci_decode,
    fibonacci_encode,
    usca_for,
    usp_for,
)
from services.optout.gpp_cli import gpp_app

USCA_HEADER = "DBABBg~"
SECTION_IDS = {"uspv1": 6, "usnat": 7, "usca": 8}


def usca(text: str, strict: bool = True) -> dict[str, Any]:
    return decode_gpp(USCA_HEADER + text, strict=strict).sections["usca"]


def with_bits(section: str, start: int, bits: str) -> str:
    """`section`'s core segment with `bits` written from bit `start`: builds the negative vectors."""
    core, *rest = section.split(".")
    original = base64url_to_bits(core)
    changed = original[:start] + bits + original[start + len(bits) :]
    return ".".join([bits_to_base64url(changed), *rest])


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


# --- usca (id 8) ----------------------------------------------------------------------------------------------


def test_usca_opted_out_of_sale_and_sharing_gpc_false() -> None:
    assert decode_gpp("DBABBg~BUUAAABY.QA").sections == {
        "usca": {
            "Version": 1,
            "SaleOptOutNotice": 1,
            "SharingOptOutNotice": 1,
            "SensitiveDataLimitUseNotice": 0,
            "SaleOptOut": 1,
            "SharingOptOut": 1,
            "SensitiveDataProcessing": [0] * 9,
            "KnownChildSensitiveDataConsents": [0, 0],
            "PersonalDataConsents": 0,
            "MspaCoveredTransaction": 1,
            "MspaOptOutOptionMode": 1,
            "MspaServiceProviderMode": 2,
            "Gpc": False,
        }
    }


def test_usca_did_not_opt_out() -> None:
    fields = usca("BUoAAABg.Q")
    assert (fields["SaleOptOut"], fields["SharingOptOut"], fields["MspaCoveredTransaction"]) == (2, 2, 1)
    assert (fields["MspaOptOutOptionMode"], fields["MspaServiceProviderMode"], fields["Gpc"]) == (2, 0, False)


def test_usca_iabgpp_es_fixture_with_every_field_set() -> None:
    assert usca("BVWSSSVY.YA") == {
        "Version": 1,
        "SaleOptOutNotice": 1,
        "SharingOptOutNotice": 1,
        "SensitiveDataLimitUseNotice": 1,
        "SaleOptOut": 1,
        "SharingOptOut": 1,
        "SensitiveDataProcessing": [2, 1, 0, 2, 1, 0, 2, 1, 0],
        "KnownChildSensitiveDataConsents": [2, 1],
        "PersonalDataConsents": 1,
        "MspaCoveredTransaction": 1,
        "MspaOptOutOptionMode": 1,
        "MspaServiceProviderMode": 2,
        "Gpc": True,
    }


def test_usca_iabgpp_es_default() -> None:
    fields = usca("BAAAAABA.QA")
    assert fields["MspaCoveredTransaction"] == 1 and fields["Gpc"] is False
    assert all(
        value in (0, [0] * 9, [0, 0])
        for name, value in fields.items()
        if name not in ("Version", "MspaCoveredTransaction", "Gpc")
    )


def test_usca_without_the_gpc_sub_segment_has_no_gpc_field() -> None:
    assert "Gpc" not in usca("BUUAAABY")


def test_usca_core_shorter_than_46_bits_is_refused() -> None:
    with pytest.raises(PrivacyStringError, match=r"^usca: core segment has 42 bits, expected at least 46 for Vers"):
        usca("BUUAAAB.QA")


def test_int2_value_3_is_refused_naming_the_field_and_the_allowed_values() -> None:
    message = r"^usca SaleOptOut: value 3 is not allowed \(0 N/A, 1 opted out, 2 did not opt out\)$"
    with pytest.raises(PrivacyStringError, match=message):
        usca(with_bits("BUUAAABY.QA", 12, "11"), strict=False)


def test_a_bitfield_slot_value_3_names_the_slot() -> None:
    with pytest.raises(PrivacyStringError, match=r"usca SensitiveDataProcessing\[2\] \(slot 3\): value 3"):
        usca(with_bits("BUUAAABY.QA", 20, "11"))


def test_usca_version_other_than_1_is_refused() -> None:
    with pytest.raises(PrivacyStringError, match=r"^usca Version: 2 is not supported \(expected 1\)$"):
        usca(with_bits("BUUAAABY", 0, "000010"))


def test_unknown_sub_segment_type_is_refused_when_strict_and_ignored_when_lenient() -> None:
    with pytest.raises(PrivacyStringError, match="usca sub-segment 1: SubsectionType is 2, expected 1"):
        usca("BUUAAABY.gA")
    assert "Gpc" not in usca("BUUAAABY.gA", strict=False)


# --- usnat (id 7) ---------------------------------------------------------------------------------------------


def test_usnat_v1_with_mspa_covered_transaction_0_is_refused_when_strict() -> None:
    with pytest.raises(PrivacyStringError, match=r"^usnat MspaCoveredTransaction: value 0 is invalid \(1 yes, 2 no\)$"):
        decode_gpp("DBABLA~BVVqAAEABCA.QA")


@pytest.mark.parametrize(("text", "gpc"), [("DBABLA~BVVqAAEABCA.QA", False), ("DBABLA~BVVqAAEABCA.YA", True)])
def test_usnat_v1_go_iabconsent_fixture_is_returned_with_a_warning_when_lenient(text: str, gpc: bool) -> None:
    gpp = decode_gpp(text, strict=False)
    assert gpp.sections == {
        "usnat": {
            "Version": 1,
            "SharingNotice": 1,
            "SaleOptOutNotice": 1,
            "SharingOptOutNotice": 1,
            "TargetedAdvertisingOptOutNotice": 1,
            "SensitiveDataProcessingOptOutNotice": 1,
            "SensitiveDataLimitUseNotice": 1,
            "SaleOptOut": 2,
            "SharingOptOut": 2,
            "TargetedAdvertisingOptOut": 2,
            "SensitiveDataProcessing": [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0],
            "KnownChildSensitiveDataConsents": [0, 0],
            "PersonalDataConsents": 1,
            "MspaCoveredTransaction": 0,
            "MspaOptOutOptionMode": 0,
            "MspaServiceProviderMode": 2,
            "Gpc": gpc,
        }
    }
    assert gpp.warnings == ["usnat MspaCoveredTransaction: value 0 is invalid (1 yes, 2 no)"]


def test_an_invalid_mspa_covered_transaction_is_never_encoded() -> None:
    fields = decode_gpp("DBABLA~BVVqAAEABCA.QA", strict=False).sections
    with pytest.raises(PrivacyStringError, match="usnat MspaCoveredTransaction: value 0 is invalid"):
        encode_gpp(GppString(sections=fields))


def test_usnat_v2() -> None:
    # CVQVAAAAAACA.YA is "computed from the spec, not independently checked" (reference §5.4). The 16/3-slot
    # layout itself is cross-checked by the iabgpp-es fixture in the next test, and iabgpp-java picks the same
    # slot counts for Version 2.
    gpp = decode_gpp("DBABL~CVQVAAAAAACA.YA")
    assert gpp.sections == {
        "usnat": {
            "Version": 2,
            "SharingNotice": 1,
            "SaleOptOutNotice": 1,
            "SharingOptOutNotice": 1,
            "TargetedAdvertisingOptOutNotice": 1,
            "SensitiveDataProcessingOptOutNotice": 0,
            "SensitiveDataLimitUseNotice": 0,
            "SaleOptOut": 1,
            "SharingOptOut": 1,
            "TargetedAdvertisingOptOut": 1,
            "SensitiveDataProcessing": [0] * 16,
            "KnownChildSensitiveDataConsents": [0, 0, 0],
            "PersonalDataConsents": 0,
            "MspaCoveredTransaction": 2,
            "MspaOptOutOptionMode": 0,
            "MspaServiceProviderMode": 0,
            "Gpc": True,
        }
    }
    assert gpp.warnings == []


def test_usnat_version_1_with_the_version_2_layout_is_refused_when_strict_and_read_as_v2_when_lenient() -> None:
    # iabgpp-es modules/cmpapi/test/encoder/section/UsNat.test.ts encodes BVVVkkkkkpFY.YA: Version 1, 16/3 slots
    text = "DBABL~BVVVkkkkkpFY.YA"
    with pytest.raises(
        PrivacyStringError,
        match=r"^usnat: Version 1 core segment has 72 bits, expected 60; that is "
        r"the Version 2 layout \(70 bits\) mislabelled",
    ):
        decode_gpp(text)
    gpp = decode_gpp(text, strict=False)
    fields = gpp.sections["usnat"]
    assert fields["Version"] == 2 and len(gpp.warnings) == 1
    assert fields["SensitiveDataProcessing"] == [2, 1, 0] * 5 + [2]
    assert fields["KnownChildSensitiveDataConsents"] == [2, 1, 0]
    assert [
        fields[name]
        for name in (
            "PersonalDataConsents",
            "MspaCoveredTransaction",
            "MspaOptOutOptionMode",
            "MspaServiceProviderMode",
            "Gpc",
        )
    ] == [1, 1, 1, 2, True]


def test_usnat_v1_with_library_padding_is_not_mistaken_for_version_2() -> None:
    gpp = decode_gpp("DBABLA~BVVqAAEABCA", strict=False)  # 11 characters: 60 bits padded to 66
    assert gpp.sections["usnat"]["Version"] == 1


def test_usnat_core_too_short_for_its_version() -> None:
    with pytest.raises(PrivacyStringError, match=r"^usnat: core segment has 66 bits, expected at least 70 for Vers"):
        decode_gpp("DBABL~CVQVAAAAAAC")


# --- uspv1 and the US Privacy string --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1YNN", UsPrivacy("Y", "N", "N")),
        ("1NYN", UsPrivacy("N", "Y", "N")),
        ("1-Y-", UsPrivacy("-", "Y", "-")),
        ("1---", UsPrivacy("-", "-", "-")),
    ],
)
def test_us_privacy_vectors(text: str, expected: UsPrivacy) -> None:
    assert decode_usp(text) == expected
    assert encode_usp(expected) == text
    assert expected.ccpa_applies is (text != "1---")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1YN", r"^us_privacy: '1YN' has 3 characters, expected 4"),
        ("1YNNN", r"^us_privacy: '1YNNN' has 5 characters, expected 4"),
        ("2YNN", r"^us_privacy Version \(position 1\): '2' is not supported, expected '1'$"),
        ("1yNN", r"^us_privacy Notice \(position 2\): 'y' is not allowed, expected 'Y', 'N' or '-'$"),
        ("1YnN", r"^us_privacy OptOutSale \(position 3\): 'n' is not allowed"),
        ("1YNx", r"^us_privacy LspaCovered \(position 4\): 'x' is not allowed"),
        # Decision: '-' in OptOutSale says CCPA does not apply, so Notice and LspaCovered must be '-' too.
        ("1Y-N", r"^us_privacy OptOutSale \(position 3\): '-' means CCPA does not apply, but Notice 'Y' and"),
        ("1N--", r"^us_privacy OptOutSale \(position 3\): '-' means CCPA does not apply"),
    ],
)
def test_invalid_us_privacy_strings_name_the_position(text: str, message: str) -> None:
    with pytest.raises(PrivacyStringError, match=message):
        decode_usp(text)


def test_encode_usp_checks_the_same_rules() -> None:
    with pytest.raises(PrivacyStringError, match="us_privacy OptOutSale"):
        encode_usp(UsPrivacy("Y", "-", "N"))
    with pytest.raises(PrivacyStringError, match=r"us_privacy Version \(position 1\): 2 is not supported"):
        encode_usp(UsPrivacy("Y", "Y", "N", version=2))


def test_uspv1_section_errors_are_us_privacy_errors() -> None:
    with pytest.raises(PrivacyStringError, match="us_privacy: '1YN' has 3 characters"):
        decode_gpp("DBABTA~1YN")


def test_usp_for() -> None:
    assert (usp_for(True), usp_for(False)) == ("1YYN", "1YNN")


# --- Round trips (hypothesis) ---------------------------------------------------------------------------------

TRI = st.sampled_from([0, 1, 2])


def slots(count: int) -> st.SearchStrategy[list[int]]:
    return st.lists(TRI, min_size=count, max_size=count)


@st.composite
def usca_fields(draw: st.DrawFn) -> dict[str, Any]:
    fields: dict[str, Any] = {"Version": 1}
    for name in (
        "SaleOptOutNotice",
        "SharingOptOutNotice",
        "SensitiveDataLimitUseNotice",
        "SaleOptOut",
        "SharingOptOut",
    ):
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


# --- Encoding errors ------------------------------------------------------------------------------------------


def _usca_sample() -> dict[str, Any]:
    return dict(usca("BUUAAABY.QA"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SaleOptOut": 3}, r"usca SaleOptOut: value 3 is not allowed \(0 N/A, 1 opted out, 2 did not opt out\)"),
        ({"SaleOptOut": True}, r"usca SaleOptOut: True is not an integer"),
        ({"SensitiveDataProcessing": [0] * 8}, r"usca SensitiveDataProcessing: .* is not a list of 9 integers"),
        ({"Gpc": "yes"}, r"usca Gpc: 'yes' is not a boolean"),
        ({"Colour": 1}, r"usca: unknown field 'Colour'"),
        ({"Version": 2}, r"usca Version: 2 is not supported \(expected 1\)"),
    ],
)
def test_encode_refuses_bad_field_values_naming_them(change: dict[str, Any], message: str) -> None:
    with pytest.raises(PrivacyStringError, match=message):
        encode_gpp(GppString(sections={"usca": _usca_sample() | change}))


def test_encode_refuses_a_missing_field_an_unknown_section_and_mismatched_ids() -> None:
    fields = _usca_sample()
    del fields["PersonalDataConsents"]
    with pytest.raises(PrivacyStringError, match="usca: field PersonalDataConsents is missing"):
        encode_gpp(GppString(sections={"usca": fields}))
    with pytest.raises(PrivacyStringError, match="gpp: section 'usva' cannot be encoded"):
        encode_gpp(GppString(sections={"usva": {}}))
    with pytest.raises(PrivacyStringError, match=r"gpp: section_ids \[7\] do not match the sections given \[8\]"):
        encode_gpp(GppString(section_ids=[7], sections={"usca": _usca_sample()}))


# --- California mapping ---------------------------------------------------------------------------------------


def test_usca_slot_names_are_the_pipelines_sensitive_categories() -> None:
    assert set(USCA_SENSITIVE_SLOTS) <= set(SENSITIVE_CATEGORIES) and len(USCA_SENSITIVE_SLOTS) == 9


def test_california_choices_from_usca_with_limits_and_gpc() -> None:
    assert california_choices(decode_gpp("DBABBg~BVWSSSVY.YA")) == CaliforniaChoices(
        True, True, ["account_login_financial_credentials", "mail_email_text_contents", "health"], True
    )


def test_california_choices_did_not_opt_out() -> None:
    assert california_choices(decode_gpp("DBABBg~BUoAAABg.Q")) == CaliforniaChoices(False, False, [], False)


def test_california_choices_unknown_when_the_string_does_not_say() -> None:
    assert california_choices(decode_gpp("DBABBg~BAAAAABA")) == CaliforniaChoices(None, None, [], None)


def test_gpc_alone_opts_out_of_sale_and_sharing() -> None:
    assert california_choices(decode_gpp("DBABBg~BUoAAABg.Y")) == CaliforniaChoices(True, True, [], True)


def test_one_opt_out_is_an_opt_out_of_sale_and_sharing() -> None:
    fields = _usca_sample() | {"SaleOptOut": 2, "SharingOptOut": 1, "Gpc": False}
    choices = california_choices(GppString(sections={"usca": fields}))
    assert (choices.sale_opt_out, choices.share_opt_out) == (True, True)


def test_usnat_sensitive_data_is_consent_not_limits_and_its_opt_outs_count() -> None:
    choices = california_choices(decode_gpp("DBABLA~BVVqAAEABCA.YA", strict=False))
    assert choices == CaliforniaChoices(True, True, [], True)  # SDP slot 8 = 1 is "no consent", not a limit
    no_gpc = california_choices(decode_gpp("DBABLA~BVVqAAEABCA", strict=False))
    assert no_gpc == CaliforniaChoices(False, False, [], None)


def test_an_opt_out_in_any_section_wins_over_a_did_not_opt_out_in_another() -> None:
    usnat = decode_gpp("DBABL~CVQVAAAAAACA").sections["usnat"]
    gpp = GppString(sections={"usca": usca("BUoAAABg"), "usnat": usnat})
    assert california_choices(gpp) == CaliforniaChoices(True, True, [], None)


def test_us_privacy_opt_out_counts_for_california() -> None:
    assert california_choices(decode_gpp("DBABTA~1YYN")) == CaliforniaChoices(True, True, [], None)
    assert california_choices(decode_gpp("DBABTA~1YNN")) == CaliforniaChoices(False, None, [], None)


# --- Strings the opt-out service publishes --------------------------------------------------------------------


def test_usca_for_opted_out_with_limits_and_gpc() -> None:
    text = usca_for(True, True, {"health", "precise_geolocation"}, True)
    fields = decode_gpp(text).sections["usca"]
    assert text.startswith(USCA_HEADER) and text.endswith(".Y")
    assert [
        fields[name]
        for name in (
            "SaleOptOutNotice",
            "SharingOptOutNotice",
            "SensitiveDataLimitUseNotice",
            "SaleOptOut",
            "SharingOptOut",
        )
    ] == [1, 1, 1, 1, 1]
    assert fields["SensitiveDataProcessing"] == [2, 2, 1, 2, 2, 2, 2, 1, 2]
    assert [fields[name] for name in ("MspaCoveredTransaction", "MspaOptOutOptionMode", "MspaServiceProviderMode")] == [
        2,
        0,
        0,
    ]
    assert california_choices(decode_gpp(text)) == CaliforniaChoices(
        True, True, ["precise_geolocation", "health"], True
    )


def test_usca_for_without_gpc_leaves_out_the_sub_segment() -> None:
    text = usca_for(False, False, set(), None, mspa_covered_transaction=True)
    fields = decode_gpp(text).sections["usca"]
    assert "." not in text and "Gpc" not in fields
    assert (fields["SaleOptOut"], fields["SharingOptOut"], fields["MspaCoveredTransaction"]) == (2, 2, 1)


def test_usca_for_refuses_unknown_slots_and_gpc_without_the_opt_out() -> None:
    with pytest.raises(PrivacyStringError, match="usca_for limits: 'neural_data' is not a usca sensitive-data slot"):
        usca_for(True, True, {"neural_data"}, None)
    with pytest.raises(PrivacyStringError, match="gpc=True needs sale_opt_out and share_opt_out"):
        usca_for(False, True, set(), True)


# --- CLI ------------------------------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_decode_prints_sections_california_and_warnings() -> None:
    result = runner.invoke(gpp_app, ["decode", "DBABBg~BVWSSSVY.YA"])
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert output["section_ids"] == [8] and output["warnings"] == []
    assert output["sections"]["usca"]["SensitiveDataProcessing"] == [2, 1, 0, 2, 1, 0, 2, 1, 0]
    assert output["california"] == {
        "sale_opt_out": True,
        "share_opt_out": True,
        "gpc": True,
        "limit_sensitive": ["account_login_financial_credentials", "mail_email_text_contents", "health"],
    }


def test_cli_decode_malformed_exits_2_with_the_error_on_stderr() -> None:
    result = runner.invoke(gpp_app, ["decode", "DBABLA~BVVqAAEABCA.QA"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == "error: usnat MspaCoveredTransaction: value 0 is invalid (1 yes, 2 no)"


def test_cli_decode_lenient_reports_warnings() -> None:
    result = runner.invoke(gpp_app, ["decode", "--lenient", "DBABLA~BVVqAAEABCA.QA"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["warnings"] == ["usnat MspaCoveredTransaction: value 0 is invalid (1 yes, 2 no)"]


def test_cli_encode_reads_decodes_output_from_stdin_or_json_option() -> None:
    decoded = runner.invoke(gpp_app, ["decode", "DBACNY~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN"]).stdout
    from_stdin = runner.invoke(gpp_app, ["encode"], input=decoded)
    assert from_stdin.exit_code == 0, from_stdin.output
    assert from_stdin.stdout.strip() == "DBACNY~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN"
    usca_json = json.dumps({"sections": {"usca": usca("BUoAAABg.Q")}})
    assert runner.invoke(gpp_app, ["encode", "--json", usca_json]).stdout.strip() == "DBABBg~BUoAAABg.Q"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json", "error: input is not JSON"),
        ('{"sections": {"usca": {"Version": 1}}}', "error: usca: field SaleOptOutNotice is missing"),
        ('{"sections": []}', "error: json sections: expected an object"),
    ],
)
def test_cli_encode_errors_exit_2(document: str, message: str) -> None:
    result = runner.invoke(gpp_app, ["encode", "--json", document])
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
