"""The gates: an export yields only allowed records and records each denial, then flushes (even when writing fails);
a call is made only when allowed and its payload reveals no sensitive PI the flow does not declare; a probe replay
reports a flow that lets an opted-out subject through as a leak; the compact state store never goes back a version."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest
from prometheus_client import REGISTRY

from services.common.datamap.loader import DataMapError
from services.common.flows import Deny, DenyReason, FlowRule, Relation, SubjectState
from services.common.flows.enforcement import refusal
from services.common.flows.gates import CallGate, ExportGate, PeriodicFlush, undeclared_sensitive
from services.common.flows.probe import Probed, ProbeReplay
from services.common.flows.store import StateStore
from tests.support import wait_for
from tests.unit.test_flow_decisions import SALE, SHARING, States, decider

A, B, C = "aa" * 32, "bb" * 32, "cc" * 32
REQUEST = str(uuid.uuid4())
OUT = SubjectState(4, sale_opt_out=True, share_opt_out=True, request_id=REQUEST)


def leaks(flow: str) -> float:
    return REGISTRY.get_sample_value("ccpa_flow_probe_leaks_total", {"flow": flow}) or 0.0


@dataclass
class Sink:
    denials: list[tuple[str, Deny, bool]] = field(default_factory=list)
    flushes: int = 0

    def record(self, subject_key: str, denial: Deny, rule: FlowRule, *, probe: bool = False, count: int = 1) -> None:
        self.denials.append((subject_key, denial, probe))

    def flush(self, timeout: float = 30.0) -> int:
        self.flushes += 1
        return len(self.denials)


def test_an_export_yields_only_the_allowed_records_and_records_each_denial_with_its_request() -> None:
    sink = Sink()
    gate = ExportGate(decider(States({A: OUT})), "coop-export", sink)
    rows = [{"key": A, "zip": "94110"}, {"key": B, "zip": "94111"}, {"key": C, "zip": "94112"}]
    written: list[dict[str, str]] = []
    result = gate.run(rows, lambda row: row["key"], written.append)
    assert [row["key"] for row in written] == [B, C]
    assert (result.written, result.blocked) == (2, 1)
    assert sink.denials == [(A, Deny("coop-export", DenyReason.SALE_OPT_OUT, 4, REQUEST), False)]
    assert sink.flushes == 1


def test_an_export_that_fails_half_way_still_flushes_its_evidence() -> None:
    sink = Sink()
    gate = ExportGate(decider(States({A: OUT})), "coop-export", sink)

    def broken(row: str) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        gate.run([A, B], lambda row: row, broken)
    assert sink.flushes == 1 and len(sink.denials) == 1


def test_an_export_fails_closed_when_the_state_is_stale() -> None:
    sink = Sink()
    gate = ExportGate(decider(States({}, is_fresh=False)), "coop-export", sink)
    assert list(gate.filter([A, B], lambda row: row)) == []
    assert {denial.reason for _, denial, _ in sink.denials} == {DenyReason.STATE_UNKNOWN}


def test_a_gate_for_a_flow_the_data_map_does_not_register_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="no flow named 'shadow-export'"):
        ExportGate(decider(States()), "shadow-export", Sink())


def test_a_call_is_made_only_when_allowed() -> None:
    sink, sent = Sink(), list[object]()
    gate = CallGate(decider(States({A: OUT})), "ad-pixel", sink)
    assert gate.send(B, {"page_title": "Summer sandals"}, sent.append)
    assert not gate.send(A, {"page_title": "Summer sandals"}, sent.append)
    assert not gate.send(C, {"page_title": "Summer sandals"}, sent.append, gpc=True)
    assert sent == [{"page_title": "Summer sandals"}]
    assert [denial.reason for _, denial, _ in sink.denials] == [DenyReason.SHARE_OPT_OUT, DenyReason.GPC]


def test_a_health_revealing_title_is_not_sent_to_a_flow_that_does_not_declare_health() -> None:
    sink, sent = Sink(), list[object]()
    gate = CallGate(decider(States()), "ad-pixel", sink)
    payload = {"event": "page_view", "context": {"titles": ["Living with type 2 diabetes: 7 early symptoms"]}}
    decision = gate.send(B, payload, sent.append)
    assert decision == Deny("ad-pixel", DenyReason.SENSITIVE_CONTENT)
    assert sent == [] and sink.denials[0][1].reason is DenyReason.SENSITIVE_CONTENT


def test_sensitive_content_a_flow_declares_is_not_flagged() -> None:
    clinic = FlowRule("clinic-sync", "clinic", Relation.SERVICE_PROVIDER, "server_api", frozenset({"health"}), True)
    assert undeclared_sensitive({"note": "insulin refill"}, clinic) == frozenset()
    assert undeclared_sensitive({"url": "/search?q=lgbtq+clinics"}, clinic) == {"sex_life_orientation"}


def test_a_probe_is_dropped_by_every_gate_the_state_must_stop_and_recorded_as_a_probe() -> None:
    sink = Sink()
    states = States({A: OUT})
    gates: list[Probed] = [
        ExportGate(decider(states), "coop-export", sink),
        CallGate(decider(states), "ad-pixel", sink),
    ]
    report = ProbeReplay(gates).replay(A, OUT)
    assert report.ok and report.dropped == ["coop-export", "ad-pixel"]
    assert [(subject, probe) for subject, _, probe in sink.denials] == [(A, True), (A, True)]
    assert sink.flushes == 1


def test_a_gate_that_lets_an_opted_out_subject_through_is_a_leak() -> None:
    leaky = decider(States({}))  # a gate whose cache never saw the opt-out
    before = leaks("coop-export")
    report = ProbeReplay([ExportGate(leaky, "coop-export", Sink())]).replay(A, OUT)
    assert report.leaked == ["coop-export"] and not report.ok
    assert leaks("coop-export") == before + 1


def test_a_share_only_opt_out_does_not_probe_a_sale_flow() -> None:
    share_only = SubjectState(2, sale_opt_out=False, share_opt_out=True)
    states = States({A: share_only})
    gates: list[Probed] = [
        ExportGate(decider(states), SALE.name, Sink()),
        CallGate(decider(states), SHARING.name, Sink()),
    ]
    report = ProbeReplay(gates).replay(A, share_only)
    assert report.dropped == [SHARING.name] and report.leaked == []


def test_the_store_keeps_the_latest_version_and_never_goes_back() -> None:
    store = StateStore()
    assert store.put(A, OUT)
    assert not store.put(A, SubjectState(3, sale_opt_out=False, share_opt_out=False))
    assert store.get(A) == OUT
    newer = SubjectState(5, False, False, frozenset({"health"}), "not-a-uuid")
    assert store.put(A, newer)
    assert store.get(A) == newer
    assert store.put(A, SubjectState(6, True, False))
    assert store.get(A) == SubjectState(6, True, False) and not store.limits and not store.requests
    assert store.get(B) is None and store.get("not hex") is None and not store.put("not hex", OUT)
    assert len(store) == 1


def test_a_long_running_service_flushes_its_evidence_periodically_and_once_more_on_exit() -> None:
    sink = Sink()
    with PeriodicFlush(sink, every_seconds=0.01):
        wait_for(lambda: sink.flushes >= 2, timeout=5, interval=0.01, what="two periodic flushes")
        during = sink.flushes
    assert sink.flushes > during


def test_a_refused_data_map_is_told_on_one_line_naming_each_problem() -> None:
    refused = DataMapError("map.yaml", ["flows[coop-export].notice: needs a notice (§7012(e)(1))", "no link (§7013)"])
    line = refusal(refused)
    assert "\n" not in line and "flows[coop-export]" in line and "§7013" in line
