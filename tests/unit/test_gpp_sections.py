"""GPP sections (§5.4 vectors): usca (id 8), usnat (id 7), uspv1 and the US Privacy string."""

from __future__ import annotations

import pytest

from services.optout.gpp import (
    GppString,
    PrivacyStringError,
    UsPrivacy,
    decode_gpp,
    decode_usp,
    encode_gpp,
    encode_usp,
    usp_for,
)
from tests.gpp_strings import usca, with_bits

# --- usca (id 8) ----------------------------------------------------------------------------------------------


USCA_OPTED_OUT = {
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


def test_usca_opted_out_of_sale_and_sharing_gpc_false() -> None:
    assert decode_gpp("DBABBg~BUUAAABY.QA").sections == {"usca": USCA_OPTED_OUT}


def test_usca_did_not_opt_out() -> None:
    fields = usca("BUoAAABg.Q")
    assert (fields["SaleOptOut"], fields["SharingOptOut"], fields["MspaCoveredTransaction"]) == (2, 2, 1)
    assert (fields["MspaOptOutOptionMode"], fields["MspaServiceProviderMode"], fields["Gpc"]) == (2, 0, False)


def test_usca_iabgpp_es_fixture_with_every_field_set() -> None:
    assert usca("BVWSSSVY.YA") == USCA_OPTED_OUT | {
        "SensitiveDataLimitUseNotice": 1,
        "SensitiveDataProcessing": [2, 1, 0, 2, 1, 0, 2, 1, 0],
        "KnownChildSensitiveDataConsents": [2, 1],
        "PersonalDataConsents": 1,
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
