"""The pure parts of `make chaos`: timeline completeness per kind of request, duplicates, and the verdicts."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from chaos import timelines, verdict, workload
from chaos.timelines import Kind

ALL_MET = verdict.Figures(
    submitted=100, accepted=100, answered=100, complete=100, duplicate_event_ids=0, duplicate_effects=0,
    double_effects=0, deletions=12, deletions_verified=12, longest_stall=4.2, settle=12.0,
)  # fmt: skip


def entry(event_type: str, event_id: str | None = None, **details: Any) -> dict[str, Any]:
    return {"event_type": event_type, "event_id": event_id or event_type, "details": details}


@pytest.mark.parametrize("kind", list(Kind))
def test_the_expected_events_make_a_complete_timeline_and_each_one_missing_is_named(kind: Kind) -> None:
    expected = list(timelines.EXPECTED[kind])
    assert timelines.missing_events(kind, expected) == []
    for event in set(expected):
        assert timelines.missing_events(kind, [e for e in expected if e != event]) == [event]


def test_a_delete_answered_before_its_verification_is_incomplete() -> None:
    seen = ["RequestSubmitted", "DiscoveryStarted", "StoreSearched", "DiscoveryCompleted", "RequestCompleted"]
    assert timelines.missing_events(Kind.DELETE, seen) == [
        "StoreErased", "DeletionVerified", "ProviderInstructed", "DeletionCompleted",
    ]  # fmt: skip


def test_a_denial_does_not_complete_a_verified_request() -> None:
    assert timelines.missing_events(Kind.KNOW, ["RequestSubmitted", "RequestDenied"])[-1] == "RequestCompleted"


def test_an_opt_in_that_published_a_state_must_also_show_it_applied_and_acknowledged() -> None:
    assert timelines.missing_events(Kind.OPT_IN, ["RequestSubmitted", "RequestCompleted"]) == []
    seen = ["RequestSubmitted", "OptOutState", "RequestCompleted"]
    assert timelines.missing_events(Kind.OPT_IN, seen) == ["OptOutApplied", "OptOutAcknowledged"]


def test_gpc_opt_outs_need_the_consent_change_others_do_not() -> None:
    seen = ["RequestSubmitted", "OptOutState", "OptOutApplied", "OptOutAcknowledged", "RequestCompleted"]
    assert timelines.missing_events(Kind.OPT_OUT, seen) == []
    assert timelines.missing_events(Kind.OPT_OUT_GPC, seen) == ["ConsentChanged"]


def test_answered_means_completed_or_denied() -> None:
    assert timelines.is_answered(["RequestSubmitted", "RequestDenied"])
    assert timelines.is_answered(["RequestSubmitted", "RequestCompleted"])
    assert not timelines.is_answered(["RequestSubmitted", "DeletionVerified"])


def test_duplicates_count_repeated_ids_and_once_only_events_seen_twice() -> None:
    entries = [entry("RequestSubmitted"), entry("RequestSubmitted"), entry("StoreSearched", "s1"),
               entry("StoreSearched", "s2"), entry("RequestCompleted", "a1"), entry("RequestDenied", "a2"),
               entry("ReportReady", "r1"), entry("ReportReady", "r2"), entry("ReportReady", "r3")]  # fmt: skip
    # one repeated id; RequestSubmitted twice, two answers, ReportReady three times; StoreSearched may repeat
    assert timelines.duplicates(entries) == timelines.Duplicates(event_ids=1, effects=1 + 1 + 2)


def test_only_a_verified_true_deletion_counts_as_verified() -> None:
    assert not timelines.verified_deletion([entry("DeletionVerified", verified=False)])
    assert timelines.verified_deletion([entry("DeletionVerified", "v1", verified=False),
                                        entry("DeletionVerified", "v2", verified=True)])  # fmt: skip


def test_every_target_met_passes() -> None:
    rows = verdict.rows(ALL_MET)
    assert verdict.all_met(rows)
    assert [row.figure for row in rows][:3] == ["accepted (202)", "answered", "complete timelines"]


@pytest.mark.parametrize(
    ("change", "figure"),
    [
        ({"accepted": 99, "answered": 99, "complete": 99}, "accepted (202)"),
        ({"answered": 99}, "answered"),
        ({"complete": 98}, "complete timelines"),
        ({"duplicate_event_ids": 1}, "duplicate event_ids on timelines"),
        ({"duplicate_effects": 2}, "once-only events twice on a timeline"),
        ({"double_effects": 1}, "double effects at providers"),
        ({"deletions_verified": 11}, "deletions verified"),
        ({"longest_stall": 30.5}, "longest stall after a kill"),
        ({"longest_stall": None}, "longest stall after a kill"),
        ({"longest_stall": float("inf")}, "longest stall after a kill"),
        ({"settle": 31.0}, "last answer after the last recovery"),
        ({"settle": None}, "last answer after the last recovery"),
        ({"crashed": 1}, "processes that exited on their own"),
    ],
)
def test_each_missed_target_fails_its_own_row_only(change: dict[str, Any], figure: str) -> None:
    rows = verdict.rows(dataclasses.replace(ALL_MET, **change))
    assert [row.figure for row in rows if not row.met] == [figure]
    assert not verdict.all_met(rows)


def test_lost_requests_are_shown_and_unmeasured_times_read_never() -> None:
    rows = {row.figure: row for row in verdict.rows(dataclasses.replace(ALL_MET, answered=97, settle=None))}
    assert rows["answered"].value == "97 (3 lost)"
    assert rows["last answer after the last recovery"].value == "never"


def test_the_mix_holds_every_request_type_and_a_customer_is_acted_on_once() -> None:
    customers = [{"account_id": f"acct-{i:07d}", "email": f"c{i}@example.com", "full_name": f"C {i}",
                  "postal_code": "94103", "date_of_birth": "1980-01-01"} for i in range(200)]  # fmt: skip
    planned = workload.plan(customers, 150)
    assert {p.body["type"] for p in planned} == {"know_specific", "know_categories", "delete", "correct", "opt_out",
                                                 "limit", "opt_in"}  # fmt: skip
    assert {p.kind for p in planned} == set(Kind)
    assert any(p.headers.get("Sec-GPC") == "1" for p in planned)
    email_of = {c["account_id"]: c["email"] for c in customers}
    people = [p.body["identifiers"].get("email") or email_of[p.body["identifiers"]["account_id"]] for p in planned
              if p.kind is not Kind.DENIED]  # fmt: skip
    assert len(people) == len(set(people))
    assert len({p.headers["Idempotency-Key"] for p in planned}) == 150
