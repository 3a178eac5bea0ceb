"""decide(subject, flow): sale and sharing stop on the opt-out and on GPC, fail closed when the state is too stale to
know, limits of sensitive PI stop flows that carry a limited category unless the use is a §7027(m) permitted purpose,
and an unregistered flow never passes."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.common.flows import Allow, Decider, Deny, DenyReason, FlowRule, Relation, SubjectState, strictest

SALE = FlowRule("coop-export", "coop", Relation.SALE, "server_export", frozenset(), permitted=False)
SHARING = FlowRule("ad-pixel", "adnet", Relation.SHARING, "browser_tag", frozenset(), permitted=False)
HEALTH_SP = FlowRule("clinic-sync", "clinic", Relation.SERVICE_PROVIDER, "server_api", frozenset({"health"}), False)
HEALTH_PERMITTED = FlowRule("pharmacy", "rx", Relation.SERVICE_PROVIDER, "server_api", frozenset({"health"}), True)
MAILER = FlowRule("mailer-sync", "mailer", Relation.SERVICE_PROVIDER, "server_api", frozenset(), permitted=False)
OUT = SubjectState(3, sale_opt_out=True, share_opt_out=True, request_id="r-1")
SALE_ONLY = SubjectState(1, sale_opt_out=True, share_opt_out=False)
LIMITED = SubjectState(2, sale_opt_out=False, share_opt_out=False, limit_sensitive=frozenset({"health"}))


@dataclass
class States:
    known: dict[str, SubjectState] = field(default_factory=dict)
    is_fresh: bool = True

    def get(self, subject_key: str) -> SubjectState | None:
        return self.known.get(subject_key)

    def fresh(self) -> bool:
        return self.is_fresh


def decider(states: States) -> Decider:
    return Decider({rule.name: rule for rule in (SALE, SHARING, HEALTH_SP, HEALTH_PERMITTED, MAILER)}, states)


def test_an_opted_out_subject_is_denied_sale_and_sharing_with_the_request_that_decided_it() -> None:
    gate = decider(States({"a": OUT}))
    assert gate.decide("a", "coop-export") == Deny("coop-export", DenyReason.SALE_OPT_OUT, 3, "r-1")
    assert gate.decide("a", "ad-pixel") == Deny("ad-pixel", DenyReason.SHARE_OPT_OUT, 3, "r-1")
    assert gate.decide("a", "mailer-sync") == Allow("mailer-sync", 3)


def test_a_subject_with_no_choice_is_allowed_while_the_cache_is_fresh() -> None:
    gate = decider(States())
    assert gate.decide("nobody", "coop-export")
    assert isinstance(gate.decide("nobody", "coop-export"), Allow)


def test_sale_and_sharing_opt_outs_are_separate() -> None:
    gate = decider(States({"a": SALE_ONLY}))
    assert not gate.decide("a", "coop-export") and gate.decide("a", "ad-pixel")


def test_gpc_denies_sale_and_sharing_whatever_the_record_says() -> None:
    gate = decider(States())
    assert gate.decide("nobody", "ad-pixel", gpc=True) == Deny("ad-pixel", DenyReason.GPC)
    assert gate.decide("nobody", "mailer-sync", gpc=True)


def test_a_stale_cache_fails_closed_for_sale_and_sharing_only() -> None:
    gate = decider(States({"a": SubjectState(1, False, False)}, is_fresh=False))
    assert gate.decide("nobody", "coop-export") == Deny("coop-export", DenyReason.STATE_UNKNOWN)
    assert gate.decide("a", "coop-export") == Deny("coop-export", DenyReason.STATE_UNKNOWN, 1)
    assert gate.decide("nobody", "mailer-sync")
    assert gate.decide("nobody", "clinic-sync") == Deny("clinic-sync", DenyReason.STATE_UNKNOWN)


def test_a_limit_stops_a_flow_carrying_the_category_unless_the_purpose_is_permitted() -> None:
    gate = decider(States({"a": LIMITED}))
    assert gate.decide("a", "clinic-sync") == Deny("clinic-sync", DenyReason.LIMITED_SENSITIVE, 2)
    assert gate.decide("a", "pharmacy")
    assert gate.decide("a", "mailer-sync")


def test_an_unregistered_flow_is_denied() -> None:
    assert decider(States()).decide("a", "shadow-export") == Deny("shadow-export", DenyReason.NOT_REGISTERED)


def test_the_strictest_of_a_consumer_and_a_device_decides() -> None:
    device = SubjectState(7, sale_opt_out=True, share_opt_out=True, request_id=None)
    gate = decider(States({"consumer": LIMITED, "device": device}))
    decision = gate.decide(["consumer", "device"], "ad-pixel")
    assert decision == Deny("ad-pixel", DenyReason.SHARE_OPT_OUT, 7, None)
    assert not gate.decide(["consumer", "device"], "clinic-sync")
    assert strictest([None, None]) is None
