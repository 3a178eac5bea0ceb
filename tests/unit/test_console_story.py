"""The request page's story: every event type has its own plain sentence (a new type cannot go unnamed), with its
time in Pacific, and people are named by their console account's display name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.audit.handlers import public_details
from services.common.event_types import EventType
from services.console.story import SENTENCES, story
from services.console.words import record_rows
from tests.nonsense import well_formed

AT = "2026-03-03T22:05:00+00:00"  # 2:05 PM PST
OPERATOR_ID = "0b7e1d2a-5f1c-4c8e-9a61-3f3f0c1d2e4a"


def entry(event_type: str, occurred_at: str = AT, **details: Any) -> dict[str, Any]:
    return {"event_id": "e", "event_type": event_type, "occurred_at": occurred_at, "producer": "x", "details": details}


def from_event(event_type: str) -> dict[str, Any]:
    """A timeline entry as audit makes one from a well-formed event of this type."""
    event = well_formed(event_type)
    return entry(event_type, event.occurred_at.isoformat(), **public_details(event.payload.to_record()))


def texts(*entries: dict[str, Any], names: dict[str, str] | None = None) -> list[str]:
    return [line.text for line in story(list(entries), names or {})]


def test_every_event_type_has_a_sentence() -> None:
    assert set(SENTENCES) == {kind.value for kind in EventType}


@pytest.mark.parametrize("event_type", sorted(kind.value for kind in EventType))
def test_each_event_type_reads_as_a_plain_sentence(event_type: str) -> None:
    lines = story([from_event(event_type)], {})
    assert lines and all(line.text and "not described" not in line.text for line in lines)
    assert all(line.when.endswith(("PST", "PDT")) for line in lines)
    assert not any("{" in line.text or "None" in line.text for line in lines), [line.text for line in lines]


def test_a_type_not_known_here_still_gets_a_line() -> None:
    assert texts(entry("SomethingNew")) == ["SomethingNew (not described here yet)"]


def test_the_time_is_in_pacific_words() -> None:
    line = story([entry(EventType.REPORT_DOWNLOADED, format="csv", sha256="ab" * 32, bytes=10)], {})[0]
    assert line.when == "March 3, 2026 at 2:05 PM PST"
    assert line.at == datetime(2026, 3, 3, 22, 5, tzinfo=UTC)


def test_a_request_received_and_verified() -> None:
    lines = texts(entry(EventType.REQUEST_SUBMITTED, request_type="know_specific", channel="web_form",
                        verification_outcome="verified", verification_achieved="reasonably_high",
                        verification_required="reasonably_high", review_before_send=True))  # fmt: skip
    assert lines[0] == "Received through the web form: a request to know the specific pieces"
    assert "Identity verified (reasonably high)" in lines
    assert "Its answer will be reviewed by the privacy team before it is sent" in lines


def test_searched_stores_and_report_ready() -> None:
    started = entry(EventType.DISCOVERY_STARTED, request_type="delete", stores=["a", "b", "c", "d", "e", "f"])
    done = entry(EventType.DISCOVERY_COMPLETED, request_type="delete", attempts=1, records=12, categories=[],
                 inventory=[{"store": "a", "collection": "c", "records": 12, "categories": []}])  # fmt: skip
    ready = entry(EventType.REPORT_READY, request_type="know_specific", formats=["json", "csv", "html"], records=12,
                  period_start="2025-01-01", period_end="2026-03-03", expires_at=AT, sha256="ab" * 32)  # fmt: skip
    lines = texts(started, done, ready)
    assert lines[1] == "Searched 6 stores: 12 records about the consumer"
    assert lines[2].startswith("Report ready (12 records; json, csv, html")


def test_an_extension_with_its_reason() -> None:
    extended = entry(EventType.REQUEST_EXTENDED, previous_respond_by=AT, respond_by="2026-06-01T06:59:59+00:00",
                     reason="the archive must be searched")  # fmt: skip
    assert texts(extended) == ["Extended to 90 days (due May 31, 2026): the archive must be searched"]


def test_operators_are_named_by_their_account_and_otherwise_unknown() -> None:
    acted = entry(EventType.OPERATOR_ACTED, actor_id=OPERATOR_ID, actor_role="operator", action="extended",
                  result="done", reason="the archive must be searched")  # fmt: skip
    assert texts(acted, names={OPERATOR_ID: "Ada Lovelace"}) == [
        "Ada Lovelace extended the request: the archive must be searched"
    ]
    assert texts(acted) == ["Unknown person extended the request: the archive must be searched"]


def test_a_refused_and_a_failed_action_say_so() -> None:
    refused = entry(EventType.OPERATOR_ACTED, actor_id=OPERATOR_ID, actor_role="operator", action="extended",
                    result="refused", detail="the deadline was already extended once")  # fmt: skip
    failed = entry(EventType.OPERATOR_ACTED, actor_id=OPERATOR_ID, actor_role="operator", action="report_downloaded",
                   result="failed", target="csv")  # fmt: skip
    names = {OPERATOR_ID: "Ada"}
    assert texts(refused, names=names) == [
        "Ada tried to extend the request; refused: the deadline was already extended once"
    ]
    assert texts(failed, names=names) == ["Ada tried to download the report (csv); it failed, nothing was changed"]


def test_a_manual_confirmation_notes_the_operator() -> None:
    instructed = entry(EventType.PROVIDER_INSTRUCTED, recipient="brightlist", role="third_party", operation="delete",
                       instruction_id="i-1", outcome="manual")  # fmt: skip
    acted = entry(EventType.OPERATOR_ACTED, actor_id=OPERATOR_ID, actor_role="operator", action="recipient_confirmed",
                  result="done", target="brightlist", reason="phoned their DPO")  # fmt: skip
    confirmed = entry(EventType.PROVIDER_CONFIRMED, recipient="brightlist", instruction_id="i-1")
    lines = texts(instructed, acted, confirmed, names={OPERATOR_ID: "Ada"})
    assert lines == ["Brightlist must be told of the deletion by a person (it has no endpoint)",
                     "Ada recorded a recipient's confirmation (brightlist): phoned their DPO",
                     "Brightlist confirmed the deletion (note by an operator)"]  # fmt: skip
    assert texts(confirmed) == ["Brightlist confirmed the deletion"]


def test_a_reviewed_answer_names_the_reviewer() -> None:
    approved = entry(EventType.ANSWER_REVIEWED, verdict="approved", reviewer=OPERATOR_ID)
    denied = entry(EventType.ANSWER_REVIEWED, verdict="denied", reviewer="someone-else", reason="wrong person")
    assert texts(approved, denied, names={OPERATOR_ID: "Ada"}) == [
        "Ada approved the answer, and it was sent",
        "Unknown person denied the answer: wrong person",
    ]


def test_deletion_completed_and_notices() -> None:
    completed = entry(EventType.DELETION_COMPLETED, operation="delete", verified=True,
                      stores=[{"store": "app-db", "outcome": "done", "records": 7},
                              {"store": "mailer", "outcome": "done", "records": 2}])  # fmt: skip
    notice = entry(EventType.NOTICE_SENT, notice="acknowledgement", template="t", template_version="1", attempt=1,
                   delivery="sent", recipient_key="ab" * 32)  # fmt: skip
    assert texts(completed, notice) == ["The deletion completed: 9 records in 2 stores",
                                        "An acknowledgement e-mail was sent"]  # fmt: skip


def test_the_7101_record_reads_in_words() -> None:
    rows = dict(record_rows({"date_received": AT, "nature": "know_specific", "manner": "web_form",
                             "nature_of_response": "complied_in_part", "basis_for_denial": None}))  # fmt: skip
    assert rows["Date received"] == "March 3, 2026 at 2:05 PM PST"
    assert rows["Nature of the request"] == "know the specific pieces" and rows["Manner"] == "the web form"
    assert rows["Nature of the response"] == "Complied in part" and rows["Basis for denial"] == "not yet"
    assert record_rows(None) == []


def test_an_answer_held_for_review_is_not_told_as_answered() -> None:
    submitted = entry(EventType.REQUEST_SUBMITTED, request_type="know_specific", channel="api",
                      verification_outcome="verified", verification_achieved="reasonably_high",
                      review_before_send=True)  # fmt: skip
    completed = entry(EventType.REQUEST_COMPLETED, outcome="complied", summary="report ready")
    assert texts(submitted, completed)[-1] == "The answer was ready and held for review: report ready"
    assert texts(completed) == ["Answered: report ready"]
