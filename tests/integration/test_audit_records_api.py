"""The §7101 records and §7102 figures through HTTP against a running pipeline: the agent's and the declaration's
evidence reach the record, an answer for a request never submitted does not, and the `next` links walk every
record exactly once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from devtools.demo.company import Customer
from devtools.local.pipeline import Pipeline
from services.common.clocks import BUSINESS_TZ
from services.common.event_types import EventType
from services.common.events import Event
from services.common.kafka import EventProducer, event_message
from services.common.payloads.requests import RequestCompletedPayload
from services.common.serde import SingleObjectCodec
from services.common.topics import REQUESTS, TopicNames
from tests.support import verified_delete, verified_know_specific, wait_for_entries

pytestmark = pytest.mark.integration

AGENT = {"name": "Agents LLC", "signed_permission": True, "permission_reference": "permission-2026-0042"}


def submit_requests(client: httpx.Client, pipeline: Pipeline, customers: list[Customer]) -> dict[str, str]:
    bodies = {
        "agent": verified_know_specific(customers[7]) | {"authorized_agent": AGENT},
        "delete": verified_delete(customers[8]),
        **{f"opt_out_{n}": {"type": "opt_out", "identifiers": {"email": customers[9 + n].email}} for n in range(3)},
    }
    ids = {}
    for name, body in bodies.items():
        response = client.post(f"{pipeline.intake.url}/v1/requests", json=body)
        assert response.status_code == 202, response.text
        ids[name] = response.json()["request_id"]
    return ids


def publish_answer_for_an_unknown_request(pipeline: Pipeline) -> str:
    unknown = str(uuid.uuid4())
    event = Event(EventType.REQUEST_COMPLETED, "ab" * 32, "deletion", request_id=unknown,
                  payload=RequestCompletedPayload(outcome="complied", summary="nothing found"))  # fmt: skip
    producer = EventProducer({"bootstrap.servers": pipeline.config.bootstrap_servers}, "records-test")
    try:
        producer.send_all([event_message(TopicNames(pipeline.config.topic_namespace)(REQUESTS), event,
                                         SingleObjectCodec())])  # fmt: skip
    finally:
        producer.close()
    return unknown


def walk(client: httpx.Client, url: str, auth: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    pages = 0
    link: str | None = url
    while link:
        response = client.get(link, headers=auth)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        link = response.json()["next"]
        pages += 1
    return items, pages


def test_records_hold_the_evidence_and_only_submitted_requests(
    pipeline: Pipeline, demo_customers: list[Customer]
) -> None:
    audit, auth = pipeline.audit.url, pipeline.auth
    with httpx.Client(timeout=10) as client:
        ids = submit_requests(client, pipeline, demo_customers)
        unknown = publish_answer_for_an_unknown_request(pipeline)
        for request_id in ids.values():
            wait_for_entries(client, audit, request_id, auth, ["RequestSubmitted"])
        wait_for_entries(client, audit, unknown, auth, ["RequestCompleted"])

        today = datetime.now(UTC).astimezone(BUSINESS_TZ).date().isoformat()
        items, pages = walk(client, f"{audit}/v1/records?from={today}&to={today}&page_size=2", auth)
        assert pages == 3
        assert sorted(item["request_id"] for item in items) == sorted(ids.values())  # each once, no unknown
        assert unknown not in {item["request_id"] for item in items}
        by_id = {item["request_id"]: item for item in items}
        agent = by_id[ids["agent"]]
        assert agent["agent_name"] == "Agents LLC" and agent["agent_permission_reference"] == AGENT[
            "permission_reference"]  # fmt: skip
        assert agent["declaration_signed"] is True and agent["declaration_text_version"] == "2026-01"
        assert agent["declaration_signed_at"] == agent["date_received"]
        assert agent["verification_level"] == "reasonably_high" and agent["manner"] == "web_form"
        assert agent["nature"] == "know_specific" and agent["due_at_original"] and agent["received_on"] == today
        assert by_id[ids["delete"]]["agent_name"] is None and by_id[ids["delete"]]["declaration_signed"] is False

        only_opt_outs = client.get(f"{audit}/v1/records?type=opt_out", headers=auth).json()["items"]
        assert {item["request_id"] for item in only_opt_outs} == {ids[f"opt_out_{n}"] for n in range(3)}

        metrics = client.get(f"{audit}/v1/metrics/7102?year={today[:4]}", headers=auth)
        assert metrics.status_code == 200, metrics.text
        lines = {line["request_type"]: line for line in metrics.json()["lines"]}
        assert lines["know"]["received"] == 1 and lines["delete"]["received"] == 1
        assert lines["opt_out"]["received"] == 3
        assert metrics.json()["signal_opt_outs"]["counting"] == "separate"


@pytest.mark.parametrize(
    ("query", "field"),
    [("from=2026-13-01", "query.from"), ("from=2026-02-01&to=2026-01-01", "query.to"), ("type=sell", "query.type"),
     ("page_size=0", "query.page_size"), ("cursor=garbage", "query.cursor"), ("status=lost", "query.status")],
)  # fmt: skip
def test_a_bad_records_parameter_is_a_422_naming_it(shared_pipeline: Pipeline, query: str, field: str) -> None:
    with httpx.Client(timeout=10) as client:
        response = client.get(f"{shared_pipeline.audit.url}/v1/records?{query}", headers=shared_pipeline.auth)
        assert response.status_code == 422, response.text
        assert [problem["field"] for problem in response.json()["detail"]] == [field]
        assert "garbage" not in response.text and "sell" not in response.text


def test_records_and_metrics_need_a_token(shared_pipeline: Pipeline) -> None:
    with httpx.Client(timeout=10) as client:
        for path in ("/v1/records", "/v1/metrics/7102?year=2026"):
            assert client.get(f"{shared_pipeline.audit.url}{path}").status_code == 401
        bad_year = client.get(f"{shared_pipeline.audit.url}/v1/metrics/7102?year=1999", headers=shared_pipeline.auth)
        assert bad_year.status_code == 422 and bad_year.json()["detail"][0]["field"] == "query.year"
