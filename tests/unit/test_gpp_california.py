"""GPP encoding errors, the California mapping, the strings the opt-out service publishes and the CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from services.common.sensitive import SENSITIVE_CATEGORIES
from services.optout.gpp import (
    USCA_SENSITIVE_SLOTS,
    CaliforniaChoices,
    GppString,
    PrivacyStringError,
    california_choices,
    decode_gpp,
    encode_gpp,
    usca_for,
)
from services.optout.gpp_cli import gpp_app
from tests.gpp_strings import USCA_CHOICES, USCA_HEADER, usca

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
    assert [fields[name] for name in USCA_CHOICES] == [1, 1, 1, 1, 1]
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
