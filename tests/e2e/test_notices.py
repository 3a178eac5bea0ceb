"""Consumer e-mails end to end: requests through intake's HTTP API and answers on the result topics, the mails read
back from a real SMTP server (Mailpit), each attempt a NoticeSent on audit's timeline with no address in clear, and a
mail-server outage retried until the server is back."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from devtools.demo.company import Customer
from devtools.local.pipeline import Pipeline, smtp_env
from devtools.localstack import DatabaseServer, MailServer
from devtools.localstack.mailpit import Mail
from devtools.localstack.ports import free_ports
from services.common.crypto import subject_key_of
from services.common.events import utcnow
from services.common.identity import normalise_all, primary_identifier
from services.common.kafka import EventProducer, event_message
from services.common.serde import SingleObjectCodec
from services.common.settings import decode_key
from services.common.topics import DISCOVERY_RESULTS, OPTOUT_RESULTS, TopicNames, TopicSpec
from services.intake.wording import pacific_date
from tests.conftest import fresh_pipeline_config
from tests.fields import event_of
from tests.support import verified_know_specific, wait_for, wait_for_entries

pytestmark = pytest.mark.e2e
BUSINESS = "Notice Test Outfitters"


@dataclasses.dataclass
class MailWorld:
    pipeline: Pipeline
    mail: MailServer
    client: httpx.Client

    def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(f"{self.pipeline.intake.url}/v1/requests", json=body)
        assert response.status_code == 202, response.text
        accepted: dict[str, Any] = response.json()
        return accepted

    def status(self, request_id: str) -> dict[str, Any]:
        response = self.client.get(f"{self.pipeline.intake.url}/v1/requests/{request_id}", headers=self.pipeline.auth)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def mail_to(self, address: str, subject: str, timeout: float = 30) -> Mail:
        def arrived() -> Mail | None:
            return next((m for m in self.mail.messages(to=address) if subject in m.subject), None)

        return wait_for(arrived, timeout=timeout, what=f"the mail {subject!r}")

    def notices(self, request_id: str, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        timeline = wait_for_entries(self.client, self.pipeline.audit.url, request_id, self.pipeline.auth,
                                    ["NoticeSent"] * count, timeout=timeout)  # fmt: skip
        return [entry for entry in timeline["entries"] if entry["event_type"] == "NoticeSent"]

    def publish(self, spec: TopicSpec, event_type: str, address: str, request_id: str, payload: dict[str, Any],
                producer: str) -> None:  # fmt: skip
        """A result event about the request, as the acting service publishes it."""
        secret = decode_key(self.pipeline.secrets["CCPA_SUBJECT_KEY_SECRET"], "CCPA_SUBJECT_KEY_SECRET")
        subject_key = subject_key_of(secret, *primary_identifier(normalise_all({"email": address})))
        event = event_of(event_type, subject_key, producer, payload, request_id=request_id)
        config = self.pipeline.config
        sender = EventProducer({"bootstrap.servers": config.bootstrap_servers}, client_id="test-results")
        try:
            sender.send_all([event_message(TopicNames(config.topic_namespace)(spec), event, SingleObjectCodec())])
        finally:
            sender.close()


@pytest.fixture(scope="module")
def world(kafka_bootstrap: str, postgres_server: DatabaseServer, identity_db: Path,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailWorld]:  # fmt: skip
    """A pipeline of its own whose Mailpit (on fixed ports) the outage test stops and starts again."""
    root = tmp_path_factory.mktemp("notices")
    smtp_port, http_port = free_ports(2)
    mail = MailServer(root / "mailpit", smtp_port=smtp_port, http_port=http_port)
    mail.start()
    env = {**smtp_env(smtp_port), "CCPA_BUSINESS_NAME": BUSINESS, "CCPA_NOTICE_RETRY_INITIAL_SECONDS": "1",
           "CCPA_NOTICE_RETRY_MAX_SECONDS": "2", "CCPA_SMTP_TIMEOUT_SECONDS": "2"}  # fmt: skip
    with fresh_pipeline_config(kafka_bootstrap, postgres_server, identity_db, root / "logs") as config:
        pipeline = Pipeline(dataclasses.replace(config, extra_env=env)).start()
        try:
            with httpx.Client(timeout=10) as client:
                yield MailWorld(pipeline, mail, client)
        finally:
            pipeline.stop()
            mail.stop()


def opt_out(world: MailWorld) -> tuple[str, dict[str, Any]]:
    address = f"notice-{uuid.uuid4().hex[:10]}@example.net"
    return address, world.submit({"type": "opt_out", "identifiers": {"email": address}})


def test_the_acknowledgement_arrives_with_the_status_link_the_pacific_due_date_and_the_business(
    world: MailWorld, demo_customers: list[Customer]
) -> None:
    customer = demo_customers[3]
    accepted = world.submit(verified_know_specific(customer))
    due = world.status(accepted["request_id"])["due_at"]
    mail = world.mail_to(customer.email.lower(), "we received your privacy request")
    assert mail.subject == f"{BUSINESS}: we received your privacy request"
    assert accepted["status_url"] in mail.text and accepted["status_url"] in mail.html
    assert pacific_date(due) in mail.text and f"<strong>{pacific_date(due)}</strong>" in mail.html
    assert BUSINESS in mail.text and "copy of the personal information" in mail.text
    assert mail.to == (customer.email.lower(),)
    [notice] = world.notices(accepted["request_id"], 1)
    details = notice["details"]
    assert details["notice"] == "acknowledgement" and details["delivery"] == "sent" and details["attempt"] == 1
    assert details["template"] == "acknowledgement" and details["template_version"] == "1"
    assert details["message_id"].strip("<>") == mail.headers["Message-Id"][0].strip("<>")
    assert len(details["recipient_key"]) == 64 and customer.email.lower() not in str(notice).lower()


def test_an_extension_tells_the_reason_and_the_new_due_date(world: MailWorld, demo_customers: list[Customer]) -> None:
    customer = demo_customers[4]
    accepted = world.submit(verified_know_specific(customer))
    reason = "Your records are spread over several archived systems"
    extended = world.client.post(f"{world.pipeline.intake.url}/v1/requests/{accepted['request_id']}/extend",
                                 json={"reason": reason}, headers=world.pipeline.auth)  # fmt: skip
    assert extended.status_code == 200, extended.text
    mail = world.mail_to(customer.email.lower(), "we need more time")
    assert reason in mail.text and reason in mail.html
    assert pacific_date(extended.json()["due_at"]) in mail.text and "/privacy/status/" in mail.text
    assert accepted["status_url"] not in mail.text, "a fresh link: the first token is stored nowhere in clear"
    kinds = [entry["details"]["notice"] for entry in world.notices(accepted["request_id"], 2)]
    assert sorted(kinds) == ["acknowledgement", "extension"]


def test_a_completed_opt_out_gets_its_answer_by_mail(world: MailWorld) -> None:
    address, accepted = opt_out(world)
    world.mail_to(address, "we received your privacy request")
    payload = {"outcome": "complied", "summary": "sale and sharing stopped"}
    world.publish(OPTOUT_RESULTS, "RequestCompleted", address, accepted["request_id"], payload, "optout")
    mail = world.mail_to(address, "our answer to your privacy request")
    assert "We no longer sell or share your personal information" in mail.text and BUSINESS in mail.text
    assert "state version" not in mail.text and "complied" not in mail.text
    kinds = [entry["details"]["notice"] for entry in world.notices(accepted["request_id"], 2)]
    assert sorted(kinds) == ["acknowledgement", "response"]


def test_a_ready_report_is_announced_by_mail_without_the_report_or_its_signed_link(
    world: MailWorld, demo_customers: list[Customer]
) -> None:
    customer = demo_customers[5]
    accepted = world.submit(verified_know_specific(customer))
    request_id, expires = accepted["request_id"], utcnow() + timedelta(days=30)
    ready = {"request_type": "know_specific", "formats": ["json", "csv", "html"], "records": 3,
             "period_start": date(2026, 1, 1), "period_end": date(2026, 12, 1), "expires_at": expires,
             "sha256": "0" * 64}  # fmt: skip
    world.publish(DISCOVERY_RESULTS, "ReportReady", customer.email, request_id, ready, "discovery")
    completed = {"outcome": "complied", "summary": "report ready"}
    world.publish(DISCOVERY_RESULTS, "RequestCompleted", customer.email, request_id, completed, "discovery")
    mail = world.mail_to(customer.email.lower(), "your personal information report is ready")
    assert pacific_date(expires) in mail.text and "/privacy/status/" in mail.text
    assert "/report" not in mail.text + mail.html and "signature=" not in mail.text + mail.html
    wait_for(lambda: world.status(request_id)["status"] == "completed", what="the request answered")
    with sa.create_engine(world.pipeline.config.intake_db_url).connect() as conn:
        kinds = conn.execute(sa.text("SELECT notice FROM notices WHERE request_id = :id"), {"id": request_id})
        assert sorted(kinds.scalars()) == ["acknowledgement", "report_ready"], "the report's mail is the answer"


def test_a_mail_server_outage_shows_as_retrying_on_the_timeline_then_sent(world: MailWorld) -> None:
    world.mail.stop()
    try:
        address, accepted = opt_out(world)
        request_id = accepted["request_id"]
        retrying = wait_for(lambda: [e for e in world.notices(request_id, 1) if e["details"]["delivery"] == "retrying"],
                            timeout=30, what="a retrying NoticeSent")  # fmt: skip
        assert retrying[0]["details"]["next_attempt_at"] and "unreachable" in retrying[0]["details"]["detail"]
        assert address not in str(retrying)
    finally:
        world.mail.start()
    mail = world.mail_to(address, "we received your privacy request", timeout=60)
    assert accepted["status_url"] in mail.text

    def delivered() -> list[dict[str, Any]] | None:
        notices = world.notices(request_id, 2)
        return notices if notices[-1]["details"]["delivery"] == "sent" else None

    notices = wait_for(delivered, timeout=30, what="the sent NoticeSent after the retries")
    assert {entry["details"]["delivery"] for entry in notices[:-1]} == {"retrying"}
    assert [entry["details"]["attempt"] for entry in notices] == list(range(1, len(notices) + 1))


def test_intake_counts_the_notices_by_kind_and_delivery(world: MailWorld) -> None:
    address, _accepted = opt_out(world)
    world.mail_to(address, "we received your privacy request")

    def counted() -> str | None:
        text = world.client.get(f"{world.pipeline.intake.url}/metrics", headers=world.pipeline.auth).text
        return text if 'ccpa_notices_total{delivery="sent",notice="acknowledgement"}' in text else None

    metrics = wait_for(counted, what="the notices counter")
    assert "ccpa_notices_pending " in metrics and address not in metrics
