"""`ccpa gpp decode` on what a new user pastes: a bare US Privacy string, and strings that are not GPP at all."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from services.optout.gpp import PrivacyStringError, decode_gpp, is_us_privacy
from services.optout.gpp_cli import gpp_app

runner = CliRunner()


def test_a_bare_us_privacy_string_decodes_with_its_california_reading() -> None:
    result = runner.invoke(gpp_app, ["decode", "1YYN"])
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert output["us_privacy"] == {"Version": 1, "Notice": "Y", "OptOutSale": "Y", "LspaCovered": "N"}
    assert output["california"]["sale_opt_out"] is True


def test_a_us_privacy_string_that_did_not_opt_out_reads_as_no_opt_out() -> None:
    output = json.loads(runner.invoke(gpp_app, ["decode", "1YNN"]).stdout)
    assert output["california"]["sale_opt_out"] is False


@pytest.mark.parametrize(
    ("string", "message"),
    [
        ("1YN", "error: us_privacy: '1YN' has 3 characters, expected 4 ([Version][Notice][OptOutSale][LspaCovered])"),
        ("2YYN", "error: us_privacy Version (position 1): '2' is not supported, expected '1'"),
        ("1YYX", "error: us_privacy LspaCovered (position 4): 'X' is not allowed, expected 'Y', 'N' or '-'"),
        ("", "error: gpp: the string is empty; expected a GPP string such as DBABBg~BUUAAABY.QA "
             "(or a US Privacy string such as 1YNN)"),
        ("DBA", "error: header 'DBA' is cut short: a GPP header holds Type, Version and the section ids; "
                "is part of the string missing?"),
        ("abc", "error: header: Type is 26, expected 3: not a GPP string (a GPP string starts with 'D')"),
    ],
)  # fmt: skip
def test_bad_strings_get_a_message_naming_the_problem(string: str, message: str) -> None:
    result = runner.invoke(gpp_app, ["decode", string])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip() == message
    assert "Type is 53" not in result.stderr and "needs bits" not in result.stderr


def test_only_a_leading_digit_marks_a_us_privacy_string() -> None:
    assert is_us_privacy("1YNN") and is_us_privacy("1---") and is_us_privacy("9")
    assert not is_us_privacy("DBABBg~BUUAAABY.QA") and not is_us_privacy("")


def test_the_codec_refuses_a_us_privacy_string_as_gpp_by_saying_what_it_is_not() -> None:
    with pytest.raises(PrivacyStringError, match="not a GPP string"):
        decode_gpp("1YYN")
