"""Enforcement at the flow: the decision library product services, batch jobs and the tag gate use to decide
whether a person's data may go to a registered flow, and the evidence (FlowBlocked) when it may not.
docs/flows.md says how to wire it in."""

from services.common.flows.decision import (
    Allow,
    Decider,
    Decision,
    Deny,
    FlowRule,
    StateSource,
    SubjectState,
    decide_state,
    flow_rules,
    strictest,
)
from services.common.flows.vocabulary import Channel, DenyReason, Relation

__all__ = [
    "Allow",
    "Channel",
    "Decider",
    "Decision",
    "Deny",
    "DenyReason",
    "FlowRule",
    "Relation",
    "StateSource",
    "SubjectState",
    "decide_state",
    "flow_rules",
    "strictest",
]
