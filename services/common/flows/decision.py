"""May this person's data go there? The pure decision: a subject's opt-out state and a registered flow in, Allow or
Deny(reason) out. No I/O; the state comes from a StateSource (the cache fed by privacy.optout.state)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from services.common.flows.vocabulary import OPT_OUT_RELATIONS, DenyReason, Relation

if TYPE_CHECKING:
    from services.common.datamap.model import DataMap


@dataclass(frozen=True, slots=True)
class SubjectState:
    """What privacy.optout.state last said of one subject key (a consumer or a device profile)."""

    version: int
    sale_opt_out: bool
    share_opt_out: bool
    limit_sensitive: frozenset[str] = frozenset()
    request_id: str | None = None  # the request whose change made this version, when one did


class StateSource(Protocol):
    """Where decisions read state: the Kafka-fed cache in a service, a dictionary in a unit test."""

    def get(self, subject_key: str) -> SubjectState | None:
        """The subject's latest state; None when the topic holds none (the subject never made a choice)."""
        ...

    def fresh(self) -> bool:
        """Whether the source is caught up within its staleness bound, so a missing subject means 'no choice'."""
        ...


@dataclass(frozen=True, slots=True)
class FlowRule:
    """A registered flow, reduced to what a decision needs (built once from the data map)."""

    name: str
    recipient: str
    relation: Relation
    channel: str
    sensitive: frozenset[str]  # the sensitive sub-categories it carries
    permitted: bool  # its use of sensitive PI is a §7027(m) permitted purpose

    @property
    def opt_out_applies(self) -> bool:
        return self.relation in OPT_OUT_RELATIONS


@dataclass(frozen=True, slots=True)
class Allow:
    flow: str
    state_version: int | None = None

    def __bool__(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class Deny:
    flow: str
    reason: DenyReason
    state_version: int | None = None
    request_id: str | None = None  # the opt-out or limit whose state decided it (FlowBlocked goes on its timeline)

    def __bool__(self) -> bool:
        return False


Decision = Allow | Deny


def decide_state(state: SubjectState | None, flow: FlowRule, *, fresh: bool = True, gpc: bool = False) -> Decision:
    """The rule for one state. Sale and sharing stop on the opt-out, on GPC, and (fail-closed) when the source is
    too stale to know; a flow carrying a limited sensitive category stops unless its use is a permitted purpose."""
    version = state.version if state is not None else None
    request_id = state.request_id if state is not None else None
    if flow.opt_out_applies:
        if gpc:
            return Deny(flow.name, DenyReason.GPC, version, request_id)
        if state is None and not fresh:
            return Deny(flow.name, DenyReason.STATE_UNKNOWN)
        if state is not None:
            if flow.relation is Relation.SALE and state.sale_opt_out:
                return Deny(flow.name, DenyReason.SALE_OPT_OUT, version, request_id)
            if flow.relation is Relation.SHARING and state.share_opt_out:
                return Deny(flow.name, DenyReason.SHARE_OPT_OUT, version, request_id)
            if not fresh:
                # A known state may be older than the bound: an opt-out since then would not be seen.
                return Deny(flow.name, DenyReason.STATE_UNKNOWN, version, request_id)
    if flow.sensitive and not flow.permitted:
        if state is None and not fresh:
            return Deny(flow.name, DenyReason.STATE_UNKNOWN)
        if state is not None and flow.sensitive & state.limit_sensitive:
            return Deny(flow.name, DenyReason.LIMITED_SENSITIVE, version, request_id)
    return Allow(flow.name, version)


def strictest(states: Iterable[SubjectState | None]) -> SubjectState | None:
    """One view of several keys of a person (the known consumer and this browser's device profile, §7025(c)(1)):
    opted out where any is, every limit of each; the version and request of the one that opted out."""
    known = [state for state in states if state is not None]
    if not known:
        return None
    if len(known) == 1:
        return known[0]
    lead = max(known, key=lambda s: (s.sale_opt_out or s.share_opt_out, s.version))
    return SubjectState(
        version=lead.version,
        sale_opt_out=any(s.sale_opt_out for s in known),
        share_opt_out=any(s.share_opt_out for s in known),
        limit_sensitive=frozenset().union(*(s.limit_sensitive for s in known)),
        request_id=lead.request_id,
    )


def flow_rules(datamap: DataMap) -> dict[str, FlowRule]:
    """Every flow of the data map as a rule, by name."""
    from services.common.datamap.flows import carried_sensitive

    return {
        flow.name: FlowRule(
            name=flow.name,
            recipient=flow.recipient,
            relation=flow.relation,
            channel=flow.channel.value,
            sensitive=carried_sensitive(datamap, flow),
            permitted=flow.permitted_purpose is not None,
        )
        for flow in datamap.flows
    }


class Decider:
    """decide(subject, flow) for a product service or a batch job: the data map's flows over a StateSource.
    A flow the data map does not register is denied (nothing unregistered leaves)."""

    def __init__(self, rules: Mapping[str, FlowRule], states: StateSource) -> None:
        self.rules = dict(rules)
        self.states = states

    def decide(self, subject_key: str | Iterable[str], flow: str, *, gpc: bool = False) -> Decision:
        """One subject key, or several keys of one person (consumer and device); `gpc`: the request carried it."""
        rule = self.rules.get(flow)
        if rule is None:
            return Deny(flow, DenyReason.NOT_REGISTERED)
        if isinstance(subject_key, str):
            state = self.states.get(subject_key)
        else:
            state = strictest(self.states.get(key) for key in subject_key)
        return decide_state(state, rule, fresh=self.states.fresh(), gpc=gpc)
