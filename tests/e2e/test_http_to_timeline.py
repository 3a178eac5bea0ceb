"""End to end through HTTP and Kafka: every request type from intake's API to audit's timeline."""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import datetime

import httpx
import pytest

from devtools.demo.company import Customer
from devtools.local.pipeline import Pipeline, PipelineConfig
from services.common.topics import CONSENT_CHANGES, REQUESTS, TopicNames
from tests.support import read_topic, verified_delete, verified_know_specific, wait_for_entries

pytestmark = pytest.mark.e2e


def submit(client: httpx.Client, pipeline: Pipeline, body: dict[str, object], **headers: str) -> httpx.Response:
    return client.post(f"{pipeline.intake.url}/v1/requests", json=body, headers=headers)


def accepted(response: httpx.Response) -> str:
    assert response.status_code == 202, response.text
    return str(response.json()["request_id"])


def test_every_request_type_reaches_the_timeline(shared_pipeline: Pipeline, demo_customers: list[Customer]) -> None:
    pipeline = shared_pipeline
    a, b, c, d, e = demo_customers[:5]
    with httpx.Client(timeout=10) as client:
        know = accepted(submit(client, pipeline, verified_know_specific(a)))
        downgraded = accepted(
            submit(
                client,
                pipeline,
                {
                    "type": "know_specific",
                    "identifiers": {"email": b.email},
                    "verification": {"data_points": {"name": b.full_name}},
                },
            )
        )
        delete = accepted(submit(client, pipeline, verified_delete(c)))
        denied = accepted(submit(client, pipeline, {"type": "delete", "identifiers": {"email": "nobody@example.org"}}))
        correct = accepted(
            submit(
                client,
                pipeline,
                {
                    "type": "correct",
                    "identifiers": {"account_id": d.account_id},
                    "verification": {"data_points": {"name": d.full_name, "date_of_birth": d.date_of_birth}},
                    "corrections": {"postal_code": "94107"},
                },
            )
        )
        opt_out = accepted(
            submit(
                client,
                pipeline,
                {"type": "opt_out", "identifiers": {"device_id": "br-1"}},
                **{"Sec-GPC": "1"},
            )
        )
        limit = accepted(
            submit(
                client,
                pipeline,
                {
                    "type": "limit",
                    "channel": "agent_portal",
                    "identifiers": {"email": e.email},
                    "authorized_agent": {"name": "Agents LLC", "signed_permission": True},
                },
            )
        )

        def status(request_id: str) -> dict[str, object]:
            response = client.get(f"{pipeline.intake.url}/v1/requests/{request_id}", headers=pipeline.auth)
            assert response.status_code == 200, response.text
            return dict(response.json())

        assert status(know)["status"] == "acknowledged"
        assert (status(downgraded)["type"], status(downgraded)["requested_type"]) == (
            "know_categories",
            "know_specific",
        )
        assert status(denied)["status"] == "denied"
        assert status(denied)["denial"]["code"] == "not_verified"  # type: ignore[index]
        assert status(opt_out)["acknowledged_at"] is None
        know_status = status(know)
        assert know_status["acknowledged_at"] == know_status["received_at"]
        due = datetime.fromisoformat(str(know_status["due_at"]))
        received = datetime.fromisoformat(str(know_status["received_at"]))
        assert 44 <= (due - received).days <= 45

        expectations = {
            know: ["RequestSubmitted"],
            downgraded: ["RequestSubmitted"],
            delete: ["RequestSubmitted"],
            denied: ["RequestSubmitted", "RequestDenied"],
            correct: ["RequestSubmitted"],
            opt_out: ["RequestSubmitted", "ConsentChanged"],
            limit: ["RequestSubmitted"],
        }
        timelines = {
            rid: wait_for_entries(client, pipeline.audit.url, rid, pipeline.auth, types)
            for rid, types in expectations.items()
        }

    denied_record = timelines[denied]["record"]
    assert denied_record["nature"] == "delete" and denied_record["manner"] == "api"
    assert denied_record["nature_of_response"] == "denied" and denied_record["date_of_response"]
    assert "could not verify" in denied_record["basis_for_denial"]
    assert [x["event_type"] for x in timelines[denied]["entries"]] == ["RequestSubmitted", "RequestDenied"]
    assert timelines[limit]["record"]["manner"] == "agent_portal"
    gpc = next(x for x in timelines[opt_out]["entries"] if x["event_type"] == "ConsentChanged")
    assert gpc["details"]["source"] == "gpc" and gpc["details"]["sale_opt_out"] is True
    submitted = timelines[know]["entries"][0]
    assert submitted["details"]["verification_outcome"] == "verified"
    assert "identifiers" not in submitted["details"]
    # Intake's decision and the services it names travel on RequestSubmitted (services/common/request_types.py).
    acting = {rid: (timeline["entries"][0]["details"]["decision"], timeline["entries"][0]["details"]["acting_services"])
              for rid, timeline in timelines.items()}  # fmt: skip
    assert acting == {
        know: ("accepted", ["discovery"]), downgraded: ("accepted", ["discovery"]),
        delete: ("accepted", ["deletion", "discovery"]), denied: ("denied", []),
        correct: ("accepted", ["deletion", "discovery"]), opt_out: ("accepted", ["optout"]),
        limit: ("accepted", ["optout"]),
    }  # fmt: skip


def test_extension_once_and_only_for_know_delete_correct(
    shared_pipeline: Pipeline, demo_customers: list[Customer]
) -> None:
    pipeline = shared_pipeline
    with httpx.Client(timeout=10) as client:
        delete = accepted(submit(client, pipeline, verified_delete(demo_customers[0])))
        opt_out = accepted(submit(client, pipeline, {"type": "opt_out", "identifiers": {"email": "x@example.com"}}))
        url = f"{pipeline.intake.url}/v1/requests/{{}}/extend"
        reason = {"reason": "Records span three systems and an archive."}
        first = client.post(url.format(delete), json=reason, headers=pipeline.auth)
        second = client.post(url.format(delete), json=reason, headers=pipeline.auth)
        not_allowed = client.post(url.format(opt_out), json=reason, headers=pipeline.auth)
        unknown = client.post(url.format(uuid.uuid4()), json=reason, headers=pipeline.auth)
        malformed = client.post(url.format("no-such-request"), json=reason, headers=pipeline.auth)
        timeline = wait_for_entries(
            client, pipeline.audit.url, delete, pipeline.auth, ["RequestSubmitted", "RequestExtended"]
        )
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["extension"]["extended"] is True and body["due_at"] == body["extension"]["max_respond_by"]
    assert second.status_code == 409 and "once" in second.json()["detail"]
    assert not_allowed.status_code == 409
    assert unknown.status_code == 404
    assert malformed.status_code == 422, "request ids are UUIDs"
    assert timeline["record"]["due_at"].startswith(body["due_at"][:10])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"identifiers": {"email": "a@example.com"}}, "type"),
        ({"type": "erase_everything", "identifiers": {"email": "a@example.com"}}, "type"),
        ({"type": "delete", "identifiers": {"email": "not-an-email"}}, "identifiers.email"),
        ({"type": "delete", "identifiers": {"phone": "12"}}, "identifiers.phone"),
        ({"type": "delete", "identifiers": {}}, "identifiers"),
        ({"type": "delete", "identifiers": {"ssn": "123-45-6789"}}, "identifiers.*"),
        ({"type": "delete", "identifiers": {"email": "a@example.com"}, "corrections": {"x": "y"}}, ""),
        ({"type": "correct", "identifiers": {"email": "a@example.com"}}, ""),
        (
            {
                "type": "know_categories",
                "identifiers": {"email": "a@example.com"},
                "date_range": {"start": "2021-06-01"},
            },
            "date_range",
        ),
    ],
)
def test_bad_input_is_refused_naming_the_field_without_echoing_it(
    shared_pipeline: Pipeline, body: dict[str, object], field: str
) -> None:
    pipeline = shared_pipeline
    with httpx.Client(timeout=10) as client:
        response = submit(client, pipeline, body)
    assert response.status_code == 422, response.text
    fields = [error["field"] for error in response.json()["detail"]]
    assert any(f == field or f.startswith(field) for f in fields), fields
    for secret in ("not-an-email", "123-45-6789"):
        assert secret not in response.text


def test_idempotency_key_returns_the_same_request_and_publishes_once(
    shared_pipeline: Pipeline, demo_customers: list[Customer]
) -> None:
    pipeline = shared_pipeline
    body = verified_delete(demo_customers[1])
    with httpx.Client(timeout=10) as client:
        first = submit(client, pipeline, body, **{"Idempotency-Key": "key-1"})
        again = submit(client, pipeline, body, **{"Idempotency-Key": "key-1"})
        conflict = submit(client, pipeline, verified_delete(demo_customers[2]), **{"Idempotency-Key": "key-1"})
        request_id = accepted(first)
        wait_for_entries(client, pipeline.audit.url, request_id, pipeline.auth, ["RequestSubmitted"])
    assert again.status_code == 202 and again.json()["request_id"] == request_id
    assert again.headers["Idempotent-Replayed"] == "true"
    assert conflict.status_code == 409
    topic = TopicNames(pipeline.config.topic_namespace)(REQUESTS)
    published = [
        m
        for m in read_topic(pipeline.config.bootstrap_servers, topic)
        if dict(m.headers() or []).get("request_id") == request_id.encode()
    ]
    assert len(published) == 1


@pytest.mark.parametrize(
    ("headers", "honoured"),
    [
        ([("Sec-GPC", "1")], True),
        ([("Sec-GPC", "0")], False),
        ([("Sec-GPC", "true")], False),
        ([("Sec-GPC", "1, 1")], False),
        ([("Sec-GPC", "1x")], False),
        ([("Sec-GPC", "0"), ("Sec-GPC", "1")], True),
        ([], False),
    ],
    ids=["exactly-1", "zero", "true", "list", "garbage", "two-headers", "absent"],
)
def test_gpc_header_is_honoured_only_when_exactly_1(
    shared_pipeline: Pipeline, headers: list[tuple[str, str]], honoured: bool
) -> None:
    pipeline = shared_pipeline
    with httpx.Client(timeout=10) as client:
        response = client.post(
            f"{pipeline.intake.url}/v1/requests",
            headers=headers,
            json={"type": "opt_out", "identifiers": {"device_id": "browser-1"}},
        )
        request_id = accepted(response)
        support = client.get(f"{pipeline.intake.url}/.well-known/gpc.json").json()
        timeline = wait_for_entries(
            client,
            pipeline.audit.url,
            request_id,
            pipeline.auth,
            ["RequestSubmitted", *(["ConsentChanged"] if honoured else [])],
        )
    assert support["gpc"] is True and len(support["lastUpdate"]) == 10
    consent = TopicNames(pipeline.config.topic_namespace)(CONSENT_CHANGES)
    on_topic = [
        m
        for m in read_topic(pipeline.config.bootstrap_servers, consent)
        if dict(m.headers() or []).get("request_id") == request_id.encode()
    ]
    assert len(on_topic) == (1 if honoured else 0)
    assert timeline["entries"][0]["details"]["gpc"] is honoured


def test_token_guards_everything_but_submission(pipeline: Pipeline) -> None:
    with httpx.Client(timeout=10) as client:
        request_id = accepted(submit(client, pipeline, {"type": "opt_out", "identifiers": {"email": "a@example.com"}}))
        no_token = client.get(f"{pipeline.intake.url}/v1/requests/{request_id}")
        wrong = client.get(
            f"{pipeline.intake.url}/v1/requests/{request_id}", headers={"Authorization": "Bearer " + "x" * 40}
        )
        audit = client.get(f"{pipeline.audit.url}/v1/requests/{request_id}/timeline")
        extend = client.post(f"{pipeline.intake.url}/v1/requests/{request_id}/extend", json={"reason": "x" * 20})
        health = client.get(f"{pipeline.audit.url}/healthz")
        metrics = client.get(f"{pipeline.intake.url}/metrics", headers=pipeline.auth_of("monitoring"))
    assert [no_token.status_code, wrong.status_code, audit.status_code, extend.status_code] == [401] * 4
    assert health.status_code == 200 and health.json()["workers"] == {
        "timeline-consumer": True,
        "chain-checkpointer": True,
        "snapshotter": True,
        "deadline-watch": True,
        "outbox-relay": True,
    }
    assert 'ccpa_requests_accepted_total{channel="api",request_type="opt_out"} 1.0' in metrics.text
    assert re.search(r"^ccpa_outbox_pending \d", metrics.text, re.M), "the outbox backlog is exported"


def test_submission_is_rate_limited(pipeline_config: PipelineConfig) -> None:
    limited = Pipeline(dataclasses.replace(pipeline_config, submit_rate_limit="3/minute"))
    limited.intake.start()
    try:
        with httpx.Client(timeout=10) as client:
            answers = [
                submit(client, limited, {"type": "opt_out", "identifiers": {"email": "a@example.com"}})
                for _ in range(5)
            ]
    finally:
        limited.intake.stop()
    assert [answer.status_code for answer in answers] == [202, 202, 202, 429, 429]
    waits = [answer.headers.get("Retry-After", "") for answer in answers[3:]]
    assert all(wait.isdigit() and 1 <= int(wait) <= 60 for wait in waits), f"Retry-After in seconds: {waits}"
