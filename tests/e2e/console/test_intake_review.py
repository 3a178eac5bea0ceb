"""Intake's side of the console through HTTP and Kafka: a know_specific answer held for review (no report link, the
status page says it is being reviewed, no answer e-mail), approved (links and mail go out, AnswerReviewed on
privacy.requests) or denied (the consumer told why, the report withdrawn), decided once; the request's e-mails
listed and one re-sent; the report's bytes for the team, each download on the timeline; no identifier in clear."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from devtools.demo.company import Customer
from devtools.localstack import MailServer
from devtools.localstack.mailpit import Mail
from services.common.event_types import EventType
from services.common.events import Event
from services.common.serde import SingleObjectCodec
from services.common.topics import REQUESTS, TopicNames
from tests.e2e.console.conftest import ConsoleWorld
from tests.support import read_topic, verified_know_specific, wait_for

pytestmark = pytest.mark.e2e
REPORT_READY = "your personal information report is ready"
ANSWER = "our answer to your privacy request"
RECEIVED = "we received your privacy request"
DENIAL = "The report mixes in the records of another customer with the same name"


class Team:
    """The privacy team's calls on intake, with the operator token (it holds every scope the console's has)."""

    def __init__(self, console_world: ConsoleWorld) -> None:
        self.world = console_world.world
        self.intake = self.world.pipeline.intake.url
        self.client = httpx.Client(base_url=self.intake, headers=self.world.pipeline.auth, timeout=30)

    def submit(self, customer: Customer) -> tuple[str, str]:
        response = httpx.post(f"{self.intake}/v1/requests", json=verified_know_specific(customer), timeout=30)
        assert response.status_code == 202, response.text
        return response.json()["request_id"], response.json()["status_url"]

    def held(self, request_id: str) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            status = self.client.get(f"/v1/requests/{request_id}").json()
            review = status.get("review") or {}
            return status if review.get("answer_ready") and status.get("report") else None

        return wait_for(ready, timeout=90, what="the answer held for review")

    def review(self, request_id: str, verdict: str, reason: str | None = None) -> httpx.Response:
        body = {"verdict": verdict, "reason": reason, "reviewer": str(uuid.uuid4())}
        return self.client.post(f"/v1/requests/{request_id}/review", json=body)

    def notices(self, request_id: str) -> list[dict[str, Any]]:
        response = self.client.get(f"/v1/requests/{request_id}/notices")
        assert response.status_code == 200, response.text
        notices: list[dict[str, Any]] = response.json()["notices"]
        return notices


def sent_mails(team: Team, mail_server: MailServer, request_id: str, kind: str, count: int = 1) -> list[Mail]:
    """The request's own e-mails of `kind` in Mailpit, found by the Message-IDs its NoticeSent entries name."""

    def arrived() -> list[Mail] | None:
        ids = {e["details"]["message_id"].strip("<>") for e in team.world.timeline(request_id)
               if e["event_type"] == "NoticeSent" and e["details"]["notice"] == kind
               and e["details"]["delivery"] == "sent"}  # fmt: skip
        mails = [m for m in mail_server.messages() if m.headers["Message-Id"][0].strip("<>") in ids]
        return mails if len(mails) >= count else None

    return wait_for(arrived, timeout=60, what=f"{count} {kind} e-mail(s) of the request")


def reviewed_events(team: Team, request_id: str) -> list[Event]:
    topic = TopicNames(team.world.pipeline.env["CCPA_TOPIC_NAMESPACE"])(REQUESTS)
    bootstrap = team.world.pipeline.config.bootstrap_servers
    events = [SingleObjectCodec().decode(m.value()) for m in read_topic(bootstrap, topic)]
    return [e for e in events if e.request_id == request_id and e.event_type is EventType.ANSWER_REVIEWED]


@pytest.fixture
def team(console_world: ConsoleWorld) -> Team:
    return Team(console_world)


def test_a_held_answer_waits_for_approval_then_goes_out(team: Team, mail_server: MailServer) -> None:
    customer = team.world.customers[27]
    request_id, status_url = team.submit(customer)
    status = team.held(request_id)
    assert status["review"]["state"] == "pending" and status["report"]["links"] == {}, "no link while held"
    page = httpx.get(status_url, timeout=30)
    assert "Your answer is ready and is being reviewed" in page.text and "/report?" not in page.text
    held = [n for n in team.notices(request_id) if n["kind"] == "report_ready"]
    assert [n["state"] for n in held] == ["held"] and not held[0]["resendable"]
    refused = team.client.post(f"/v1/requests/{request_id}/notices/{held[0]['notice_id']}/resend",
                               json={"reason": "asked by phone"})  # fmt: skip
    assert refused.status_code == 409 and "held" in refused.json()["detail"], "a re-send would skip the review"
    assert not [m for m in team.world.timeline(request_id)
                if m["event_type"] == "NoticeSent" and m["details"]["notice"] == "report_ready"]  # fmt: skip

    approved = team.review(request_id, "approved")
    assert approved.status_code == 200, approved.text
    assert approved.json()["review"]["state"] == "approved" and approved.json()["report"]["links"]
    [mail] = sent_mails(team, mail_server, request_id, "report_ready")
    assert REPORT_READY in mail.subject and mail.to == (customer.email.lower(),)
    assert "Read it in your browser" in httpx.get(status_url, timeout=30).text
    again = team.review(request_id, "denied", DENIAL)
    assert again.status_code == 409 and "approved already" in again.json()["detail"]
    assert request_id not in again.text and customer.email.lower() not in again.text.lower()
    [event] = wait_for(lambda: reviewed_events(team, request_id), what="AnswerReviewed on privacy.requests")
    assert event.payload.verdict == "approved" and uuid.UUID(event.payload.reviewer)


def test_a_denied_answer_tells_the_consumer_why_and_withdraws_the_report(team: Team, mail_server: MailServer) -> None:
    customer = team.world.customers[28]
    request_id, status_url = team.submit(customer)
    team.held(request_id)
    assert team.review(request_id, "denied").status_code == 422, "a denial needs its reason"
    denied = team.review(request_id, "denied", DENIAL)
    assert denied.status_code == 200, denied.text
    assert denied.json()["review"] | {"decided_at": None} == {"state": "denied", "answer_ready": True,
                                                              "decided_at": None, "reason": DENIAL}  # fmt: skip
    assert denied.json()["report"] is None, "the links are gone"
    [mail] = sent_mails(team, mail_server, request_id, "response")
    assert ANSWER in mail.subject and DENIAL in " ".join(mail.text.split())
    page = httpx.get(status_url, timeout=30).text
    assert DENIAL in page and "/report?" not in page
    assert team.client.get(f"/v1/requests/{request_id}/report/json").status_code == 410
    assert {n["state"] for n in team.notices(request_id) if n["kind"] == "report_ready"} == {"withdrawn"}
    assert team.review(request_id, "approved").status_code == 409
    [event] = wait_for(lambda: reviewed_events(team, request_id), what="AnswerReviewed on privacy.requests")
    assert event.payload.verdict == "denied" and event.payload.reason == DENIAL


def test_a_review_of_a_request_not_under_review_is_refused(team: Team) -> None:
    request_id = team.client.post("/v1/requests", json={"type": "opt_out", "identifiers": {
        "email": f"no-review-{uuid.uuid4().hex[:8]}@example.net"}}).json()["request_id"]  # fmt: skip
    refused = team.review(request_id, "approved")
    assert refused.status_code == 409 and "not under review" in refused.json()["detail"]
    assert team.client.get(f"/v1/requests/{request_id}").json()["review"] is None
    assert team.review(str(uuid.uuid4()), "approved").status_code == 404
    assert team.client.get(f"/v1/requests/{request_id}/report/json").status_code == 404, "an opt-out has no report"


def test_a_notice_is_listed_and_sent_again(team: Team, mail_server: MailServer) -> None:
    customer = team.world.customers[29]
    request_id, _status_url = team.submit(customer)
    sent_mails(team, mail_server, request_id, "acknowledgement")
    [ack] = [n for n in team.notices(request_id) if n["kind"] == "acknowledgement"]
    assert ack["state"] == "sent" and ack["attempts"] == 1 and ack["sent_at"] and ack["resendable"]
    unknown = team.client.post(f"/v1/requests/{request_id}/notices/{uuid.uuid4()}/resend", json={"reason": "why"})
    assert unknown.status_code == 404
    resent = team.client.post(f"/v1/requests/{request_id}/notices/{ack['notice_id']}/resend",
                              json={"reason": "The consumer says it never arrived"})  # fmt: skip
    assert resent.status_code == 202, resent.text
    mails = sent_mails(team, mail_server, request_id, "acknowledgement", count=2)
    assert {m.subject for m in mails} == {mails[0].subject} and RECEIVED in mails[0].subject
    assert mails[0].text == mails[1].text, "the same content, with the same status link"
    copy = next(n for n in team.notices(request_id) if n["notice_id"] == resent.json()["notice_id"])
    assert copy["resent_from"] == ack["notice_id"] and copy["state"] == "sent"


def test_the_team_reads_a_held_report_and_each_download_is_on_the_timeline(team: Team) -> None:
    customer = team.world.customers[26]
    request_id, _status_url = team.submit(customer)
    status = team.held(request_id)
    response = team.client.get(f"/v1/requests/{request_id}/report/json")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.json(), "the report's bytes, as discovery built them"
    assert team.client.get(f"/v1/requests/{request_id}/report/pdf").status_code == 422
    assert status["report"]["sha256"]

    def downloaded() -> list[dict[str, Any]]:
        return [e for e in team.world.timeline(request_id) if e["event_type"] == "ReportDownloaded"]

    [entry] = wait_for(downloaded, timeout=30, what="ReportDownloaded on the timeline")
    assert entry["details"]["format"] == "json" and entry["details"]["bytes"] == len(response.content)


def test_no_identifier_in_clear_in_the_team_answers_or_the_new_events(team: Team) -> None:
    customer = team.world.customers[25]
    needles = [customer.email.lower(), customer.full_name.lower(), customer.phone, customer.account_id.lower()]
    request_id, _status_url = team.submit(customer)
    answers = [team.held(request_id), team.notices(request_id)]
    team.client.get(f"/v1/requests/{request_id}/report/csv")
    answers.append(team.review(request_id, "denied", "We found records that are not this person's").json())
    answers.append(team.notices(request_id))
    [event] = wait_for(lambda: reviewed_events(team, request_id), what="AnswerReviewed")
    text = " ".join(str(item) for item in [*answers, event, *team.world.timeline(request_id)]).lower()
    assert not [needle for needle in needles if needle.lower() in text]
