"""Pure consent rules: how one consent input changes a subject's sale/sharing/sensitive-PI state.

§1798.120, §1798.121, §1798.135; Regs §7025 (GPC), §7026 (opt-out), §7027 (limit); minors §1798.120(c)-(d).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from services.common.clocks import no_reask_until
from services.common.sensitive import SENSITIVE_CATEGORIES

UNDER_16 = frozenset({"under_13", "13_15"})
AGE_BANDS = frozenset({"under_13", "13_15", "16_plus"})


@dataclass(frozen=True)
class ConsentInput:
    """One change asked for, from a request, a GPC signal or a product event."""

    source: str
    received_at: datetime
    sale_opt_out: bool | None = None
    share_opt_out: bool | None = None
    limit: frozenset[str] | None = None
    unlimit: frozenset[str] | None = None
    consumer_action: bool = False
    parental_consent: bool = False
    age_band: str | None = None
    financial_incentive: str | None = None
    affirmed_opt_out: bool = False
    scope: str = "consumer"


@dataclass(frozen=True)
class ConsentState:
    scope: str = "consumer"
    sale_opt_out: bool = False
    share_opt_out: bool = False
    limit_sensitive: frozenset[str] = frozenset()
    source: str = "none"
    effective_at: datetime | None = None
    version: int = 0
    may_ask_after: datetime | None = None
    age_band: str | None = None
    opted_in_by_consumer: bool = False
    financial_incentive_enrolled: bool = False

    @property
    def under_16(self) -> bool:
        return self.age_band in UNDER_16


@dataclass(frozen=True)
class Outcome:
    state: ConsentState
    changed: bool
    notes: list[str] = field(default_factory=list)
    refused: bool = False


def apply(current: ConsentState, change: ConsentInput) -> Outcome:
    notes: list[str] = []
    state = _profile(current, change)
    state, refused = _sale_and_share(state, change, notes)
    state = _limits(state, change)
    state = _minor_default(state, notes)
    changed = _visible(state) != _visible(current)
    if changed:
        state = replace(state, version=current.version + 1, effective_at=change.received_at)
    return Outcome(state, changed, notes, refused)


def _profile(state: ConsentState, change: ConsentInput) -> ConsentState:
    age = change.age_band if change.age_band in AGE_BANDS else state.age_band
    enrolled = {"enrolled": True, "withdrawn": False}.get(
        change.financial_incentive or "", state.financial_incentive_enrolled
    )
    return replace(state, age_band=age, financial_incentive_enrolled=enrolled, scope=change.scope)


def _sale_and_share(state: ConsentState, change: ConsentInput, notes: list[str]) -> tuple[ConsentState, bool]:
    wanted = (change.sale_opt_out, change.share_opt_out)
    if True in wanted:
        return _opt_out(state, change, notes), False
    if False in wanted:
        return _opt_in(state, change, notes)
    return state, False


def _opt_out(state: ConsentState, change: ConsentInput, notes: list[str]) -> ConsentState:
    keeps_incentive = change.source == "gpc" and state.financial_incentive_enrolled and not change.affirmed_opt_out
    if keeps_incentive and change.scope == "consumer":
        notes.append(
            "GPC honoured for the browser/device; the known consumer stays in the financial incentive "
            "program until they affirm the opt-out (§7025(c)(4))"
        )
        return state
    sale = state.sale_opt_out or bool(change.sale_opt_out)
    share = state.share_opt_out or bool(change.share_opt_out)
    enrolled = state.financial_incentive_enrolled and not change.affirmed_opt_out
    return replace(
        state,
        sale_opt_out=sale,
        share_opt_out=share,
        source=change.source,
        may_ask_after=no_reask_until(change.received_at),
        opted_in_by_consumer=False,
        financial_incentive_enrolled=enrolled,
    )


def _opt_in(state: ConsentState, change: ConsentInput, notes: list[str]) -> tuple[ConsentState, bool]:
    reason = _opt_in_refusal(state, change)
    if reason:
        notes.append(reason)
        return state, True
    sale = state.sale_opt_out if change.sale_opt_out is None else change.sale_opt_out
    share = state.share_opt_out if change.share_opt_out is None else change.share_opt_out
    return replace(
        state, sale_opt_out=sale, share_opt_out=share, source=change.source, opted_in_by_consumer=True
    ), False


def _opt_in_refusal(state: ConsentState, change: ConsentInput) -> str | None:
    if change.source == "gpc":
        return "a privacy signal never opts a consumer back in (§7025(c)(5))"
    if not change.consumer_action:
        return "opting back in needs the consumer's own action (§7028)"
    if state.age_band == "under_13" and not change.parental_consent:
        return "a consumer under 13 is opted in only with a parent's or guardian's consent (§1798.120(c))"
    return None


def _limits(state: ConsentState, change: ConsentInput) -> ConsentState:
    limits = set(state.limit_sensitive)
    if change.limit is not None:
        limits |= change.limit or set(SENSITIVE_CATEGORIES)
    if change.unlimit is not None and change.consumer_action:
        limits -= change.unlimit or set(SENSITIVE_CATEGORIES)
    if frozenset(limits) == state.limit_sensitive:
        return state
    added = bool(limits - state.limit_sensitive)
    may_ask = no_reask_until(change.received_at) if added else state.may_ask_after
    return replace(
        state, limit_sensitive=frozenset(limits), source=change.source if added else state.source, may_ask_after=may_ask
    )


def _minor_default(state: ConsentState, notes: list[str]) -> ConsentState:
    """Known consumers under 16 are opted out unless they (or a parent, under 13) opted in (§1798.120(c))."""
    if not state.under_16 or state.opted_in_by_consumer or (state.sale_opt_out and state.share_opt_out):
        return state
    notes.append("consumer known to be under 16: sale and sharing need opt-in consent (§1798.120(c))")
    return replace(state, sale_opt_out=True, share_opt_out=True, source="minor_default")


def _visible(state: ConsentState) -> tuple[object, ...]:
    return (
        state.sale_opt_out,
        state.share_opt_out,
        state.limit_sensitive,
        state.age_band,
        state.financial_incentive_enrolled,
    )


def confirmation_text(state: ConsentState) -> str:
    """What a site shows (§7025(c)(6), mandatory from 2026): whether the opt-out was processed."""
    if state.sale_opt_out and state.share_opt_out:
        return "Opt-Out Request Honored"
    if state.sale_opt_out or state.share_opt_out:
        honoured = "sale" if state.sale_opt_out else "sharing"
        return f"Opt-Out Request Honored for {honoured} of personal information"
    return "No opt-out of sale or sharing is in effect"
