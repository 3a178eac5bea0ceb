"""Consent rules: opt-out, opt-in only by the consumer's own action, limits, GPC, minors, financial incentives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.sensitive import SENSITIVE_CATEGORIES
from services.optout.rules import ConsentInput, ConsentState, apply, confirmation_text

NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
FRESH = ConsentState()


def opt_out(source: str = "form", **extra: object) -> ConsentInput:
    return ConsentInput(source, NOW, sale_opt_out=True, share_opt_out=True, **extra)  # type: ignore[arg-type]


def opt_in(source: str = "form", consumer_action: bool = True, **extra: object) -> ConsentInput:
    return ConsentInput(source, NOW + timedelta(days=1), sale_opt_out=False, share_opt_out=False,
                        consumer_action=consumer_action, **extra)  # type: ignore[arg-type]  # fmt: skip


def test_opt_out_sets_both_flags_versions_the_state_and_starts_the_12_month_wait() -> None:
    outcome = apply(FRESH, opt_out())
    assert outcome.changed and not outcome.refused
    state = outcome.state
    assert (state.sale_opt_out, state.share_opt_out, state.version, state.source) == (True, True, 1, "form")
    assert state.effective_at == NOW
    assert state.may_ask_after is not None and state.may_ask_after.year == 2027
    assert confirmation_text(state) == "Opt-Out Request Honored"


def test_repeating_an_opt_out_changes_nothing() -> None:
    first = apply(FRESH, opt_out()).state
    again = apply(first, opt_out("gpc"))
    assert not again.changed and again.state.version == 1


def test_opt_in_after_opt_out_needs_the_consumers_own_action() -> None:
    opted_out = apply(FRESH, opt_out()).state
    by_agent = apply(opted_out, opt_in(consumer_action=False))
    assert by_agent.refused and not by_agent.changed and by_agent.state.sale_opt_out
    own = apply(opted_out, opt_in())
    assert own.changed and not own.state.sale_opt_out and own.state.version == 2
    assert own.state.opted_in_by_consumer


def test_a_privacy_signal_never_opts_back_in() -> None:
    opted_out = apply(FRESH, opt_out("gpc")).state
    outcome = apply(opted_out, opt_in("gpc"))
    assert outcome.refused and outcome.state.sale_opt_out
    assert "never opts a consumer back in" in outcome.notes[0]


def test_an_input_without_choices_is_not_an_opt_in() -> None:
    """§7025(c)(5): a later request without the signal is not consent."""
    opted_out = apply(FRESH, opt_out("gpc")).state
    outcome = apply(opted_out, ConsentInput("product_event", NOW))
    assert not outcome.changed and outcome.state.sale_opt_out


def test_limit_without_categories_limits_every_sensitive_category() -> None:
    outcome = apply(FRESH, ConsentInput("form", NOW, limit=frozenset()))
    assert outcome.state.limit_sensitive == frozenset(SENSITIVE_CATEGORIES)
    assert not outcome.state.sale_opt_out and outcome.state.may_ask_after is not None


def test_limits_accumulate_and_lift_only_by_the_consumer() -> None:
    state = apply(FRESH, ConsentInput("form", NOW, limit=frozenset({"health"}))).state
    state = apply(state, ConsentInput("form", NOW, limit=frozenset({"precise_geolocation"}))).state
    assert state.limit_sensitive == {"health", "precise_geolocation"}
    not_own = apply(state, ConsentInput("agent", NOW, unlimit=frozenset({"health"})))
    assert not not_own.changed
    lifted = apply(state, ConsentInput("form", NOW, unlimit=frozenset({"health"}), consumer_action=True))
    assert lifted.state.limit_sensitive == {"precise_geolocation"}


@pytest.mark.parametrize("age_band", ["under_13", "13_15"])
def test_known_minors_are_opted_out_by_default(age_band: str) -> None:
    outcome = apply(FRESH, ConsentInput("product_event", NOW, age_band=age_band))
    assert outcome.state.sale_opt_out and outcome.state.share_opt_out
    assert outcome.state.source == "minor_default" and outcome.state.under_16


def test_a_13_to_15_year_old_may_opt_in_themselves() -> None:
    minor = apply(FRESH, ConsentInput("product_event", NOW, age_band="13_15")).state
    outcome = apply(minor, opt_in("product_event"))
    assert outcome.changed and not outcome.state.sale_opt_out


def test_under_13_needs_a_parents_consent() -> None:
    child = apply(FRESH, ConsentInput("product_event", NOW, age_band="under_13")).state
    alone = apply(child, opt_in("product_event"))
    assert alone.refused and alone.state.sale_opt_out
    with_parent = apply(child, opt_in("parent", parental_consent=True))
    assert not with_parent.state.sale_opt_out


def test_adults_are_not_opted_out_by_default() -> None:
    outcome = apply(FRESH, ConsentInput("product_event", NOW, age_band="16_plus"))
    assert not outcome.state.sale_opt_out and outcome.state.age_band == "16_plus"


def test_gpc_keeps_an_enrolled_consumer_in_the_incentive_program_until_they_affirm() -> None:
    """§7025(c)(4): the device is opted out regardless; the known consumer may keep the program."""
    enrolled = apply(FRESH, ConsentInput("product_event", NOW, financial_incentive="enrolled")).state
    consumer = apply(enrolled, opt_out("gpc"))
    assert not consumer.state.sale_opt_out and "§7025(c)(4)" in consumer.notes[0]
    device = apply(enrolled, opt_out("gpc", scope="device"))
    assert device.state.sale_opt_out
    affirmed = apply(enrolled, opt_out("gpc", affirmed_opt_out=True))
    assert affirmed.state.sale_opt_out and not affirmed.state.financial_incentive_enrolled


def test_a_form_opt_out_from_an_enrolled_consumer_is_applied() -> None:
    enrolled = apply(FRESH, ConsentInput("product_event", NOW, financial_incentive="enrolled")).state
    assert apply(enrolled, opt_out("form")).state.sale_opt_out


def test_confirmation_text_names_what_is_honoured() -> None:
    assert confirmation_text(ConsentState(sale_opt_out=True)) == (
        "Opt-Out Request Honored for sale of personal information"
    )
    assert confirmation_text(ConsentState()) == "No opt-out of sale or sharing is in effect"
