"""Probe replay: an acknowledgement proves receipt, a probe proves effect. After a downstream acknowledges an opt-out
version, a synthetic record of that subject is replayed through each gated integration; each must drop it (the
drop is a FlowBlocked with probe=true on the opt-out's timeline). One that lets it through is a leak: logged without
the subject, counted in ccpa_flow_probe_leaks_total{flow} and reported."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from services.common.flows.decision import Decision, FlowRule, SubjectState
from services.common.flows.gates import DenialSink
from services.common.flows.vocabulary import Relation
from services.common.metrics import FLOW_PROBE_LEAKS, FLOW_PROBES

log = logging.getLogger(__name__)


class Probed(Protocol):
    """A gated integration that can replay a synthetic record (ExportGate, CallGate)."""

    rule: FlowRule
    sink: DenialSink

    def probe(self, subject_key: str) -> Decision:
        """Replay a synthetic record of the subject; the gate's decision."""
        ...


def should_stop(rule: FlowRule, state: SubjectState) -> bool:
    """Whether the state's opt-out must stop this flow (a sale on a sale opt-out, a sharing on a share opt-out)."""
    return (rule.relation is Relation.SALE and state.sale_opt_out) or (
        rule.relation is Relation.SHARING and state.share_opt_out
    )


@dataclass
class ProbeReport:
    """What one replay found: the flows that dropped the probe and those that let it through."""

    dropped: list[str] = field(default_factory=list)
    leaked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.leaked


class ProbeReplay:
    """Replays a subject's opt-out through every gated integration that state must stop."""

    def __init__(self, gates: Sequence[Probed], downstream: str = "") -> None:
        self.gates = list(gates)
        self.downstream = downstream

    def replay(self, subject_key: str, state: SubjectState) -> ProbeReport:
        """Probe each gate the state must stop, then flush the evidence."""
        report = ProbeReport()
        sinks: list[DenialSink] = []
        for gate in self.gates:
            if not should_stop(gate.rule, state):
                continue
            decision = gate.probe(subject_key)
            if decision:
                report.leaked.append(gate.rule.name)
                FLOW_PROBES.labels(gate.rule.name, "leaked").inc()
                FLOW_PROBE_LEAKS.labels(gate.rule.name).inc()
                log.error("probe leaked: a gated flow let an opted-out subject's record through",
                          extra={"flow": gate.rule.name, "downstream": self.downstream,
                                 "state_version": state.version})  # fmt: skip
            else:
                report.dropped.append(gate.rule.name)
                FLOW_PROBES.labels(gate.rule.name, "dropped").inc()
                if all(sink is not gate.sink for sink in sinks):
                    sinks.append(gate.sink)
        for sink in sinks:
            sink.flush()
        return report
