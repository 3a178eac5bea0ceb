"""A verified deletion with consumer e-mail on: the answer reaches the consumer (the data key waits for it), and only
then is the key shredded; the real discovery and deletion services, the demo company, mails read from Mailpit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devtools.localstack import DatabaseServer, MailServer
from tests.e2e.demo_world import World, demo_world, submit
from tests.support import wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(kafka_bootstrap: str, postgres_server: DatabaseServer, redis_url: str, mail_server: MailServer,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:  # fmt: skip
    root = tmp_path_factory.mktemp("deletion-notices")
    with demo_world(kafka_bootstrap, postgres_server, redis_url, root, 13, with_deletion=True,
                    smtp_port=mail_server.smtp_port) as built:  # fmt: skip
        yield built


def entries_with(world: World, request_id: str, event_type: str) -> list[dict[str, Any]] | None:
    entries = world.timeline(request_id)
    return entries if any(entry["event_type"] == event_type for entry in entries) else None


def test_the_deletion_answer_is_mailed_before_the_key_is_shredded(world: World, mail_server: MailServer) -> None:
    customer = world.customers[26]
    body = {"verification": {"data_points": {"name": customer.full_name, "postal_code": customer.postal_code}}}
    request_id = submit(world, customer, "delete", **body)
    entries = wait_for(lambda: entries_with(world, request_id, "KeysShredded"), timeout=180, what="KeysShredded")
    sent = [e for e in entries if e["event_type"] == "NoticeSent" and e["details"]["delivery"] == "sent"]
    assert sorted(e["details"]["notice"] for e in sent) == ["acknowledgement", "response"]
    kinds = [entry["event_type"] for entry in entries]
    assert kinds.index("RequestCompleted") < kinds.index("KeysShredded")
    answered = next(e for e in sent if e["details"]["notice"] == "response")
    shredded = next(e for e in entries if e["event_type"] == "KeysShredded")
    assert answered["occurred_at"] <= shredded["occurred_at"], "the answer went out while the address was readable"
    mails = mail_server.messages(to=customer.email.lower())
    [answer] = [mail for mail in mails if "our answer" in mail.subject]
    assert "We deleted your personal information" in answer.text
