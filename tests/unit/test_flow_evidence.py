"""FlowBlocked evidence: denials are counted per subject, flow, reason and probe, carry the deciding request and the
state version, and pass the event contract (no identifier: the subject is its keyed hash)."""

from __future__ import annotations

from services.common import contracts
from services.common.flows import Deny, DenyReason, FlowRule, Relation
from services.common.flows.evidence import BlockedFlows

COOP = FlowRule("coop-export", "brightlist", Relation.SALE, "server_export", frozenset(), permitted=False)
ALICE, BOB = "a1" * 32, "b2" * 32


def test_denials_are_tallied_into_one_event_per_subject_flow_reason_and_probe() -> None:
    evidence = BlockedFlows({"bootstrap.servers": "127.0.0.1:1"}, gate="coop-export-job")
    try:
        denial = Deny("coop-export", DenyReason.SALE_OPT_OUT, 4, "7d7f3f3e-5c55-4c8e-9a4f-1f0f7a9d2b10")
        for _ in range(3):
            evidence.record(ALICE, denial, COOP)
        evidence.record(ALICE, denial, COOP, probe=True)
        evidence.record(BOB, Deny("coop-export", DenyReason.STATE_UNKNOWN), COOP, count=5)
        events = sorted(evidence.events(), key=lambda e: (e.subject_key, e.payload.probe))
        tallies = [(e.subject_key, e.payload.count, e.payload.probe, e.payload.reason) for e in events]
        assert tallies == [(ALICE, 3, False, "sale_opt_out"), (ALICE, 1, True, "sale_opt_out"),
                           (BOB, 5, False, "state_unknown")]  # fmt: skip
        assert events[0].request_id == denial.request_id and events[0].payload.state_version == 4
        assert events[2].request_id is None and events[2].payload.state_version is None
        assert {(e.payload.recipient, e.payload.relation, e.payload.gate) for e in events} == {
            ("brightlist", "sale", "coop-export-job")}  # fmt: skip
        for event in events:
            contracts.check(event)
        assert evidence.events() == []
    finally:
        evidence.close()
