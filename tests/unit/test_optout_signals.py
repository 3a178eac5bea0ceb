"""GPP and US Privacy strings as consent inputs: opt-outs and limits are taken, never an opt-in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.common.errors import PoisonMessage
from services.common.payloads.consent import ConsentChangedPayload
from services.optout.gpp import usca_for
from services.optout.handlers import consent_input

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def payload(source: str, signal: str | None, **fields: Any) -> ConsentChangedPayload:
    return ConsentChangedPayload(source=source, effective_at=NOW, signal=signal, scope="consumer", **fields)


def test_a_usca_opt_out_with_limits_becomes_an_opt_out_and_limits() -> None:
    change = consent_input(payload("gpp", usca_for(True, True, {"health", "precise_geolocation"}, gpc=True)))
    assert (change.sale_opt_out, change.share_opt_out) == (True, True)
    assert change.limit == {"health", "precise_geolocation"}


def test_the_reference_vector_with_both_opt_outs() -> None:
    change = consent_input(payload("gpp", "DBABBg~BUUAAABY.QA"))
    assert (change.sale_opt_out, change.share_opt_out, change.limit) == (True, True, None)


@pytest.mark.parametrize("signal", ["DBABBg~BUoAAABg.Q", usca_for(False, False, set(), gpc=None)])
def test_a_string_that_did_not_opt_out_is_not_an_opt_in(signal: str) -> None:
    change = consent_input(payload("gpp", signal))
    assert (change.sale_opt_out, change.share_opt_out, change.limit) == (None, None, None)


@pytest.mark.parametrize(("signal", "sale"), [("1YYN", True), ("1YNN", None), ("1---", None)])
def test_us_privacy_strings_carry_only_the_sale_opt_out(signal: str, sale: bool | None) -> None:
    change = consent_input(payload("usp", signal))
    assert (change.sale_opt_out, change.share_opt_out) == (sale, None)


@pytest.mark.parametrize(("source", "signal"), [("gpp", "DBABBg~"), ("gpp", "CBABBg~BUUAAABY"), ("usp", "1YYX")])
def test_a_malformed_string_is_a_poison_message_naming_the_problem(source: str, signal: str) -> None:
    with pytest.raises(PoisonMessage, match=f"^{source} signal: "):
        consent_input(payload(source, signal))


def test_explicit_choices_without_a_string_pass_through() -> None:
    change = consent_input(payload("product_event", None, sale_opt_out=True, consumer_action=True))
    assert change.sale_opt_out is True and change.consumer_action
