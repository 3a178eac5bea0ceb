"""Deletion's side of the console through HTTP and Kafka: a deletion of a demo customer waits for the demo data map's
manual recipients (paybridge, brightlist, metricly); an operator sees them confirmable, confirms each with a note, and
the request completes with them confirmed on its timeline; what the state does not allow is a 409; legal holds are
listed, placed on the request's subject and released."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from services.console.accounts.roles import Role
from tests.e2e.console.conftest import ConsoleWorld
from tests.e2e.demo_world import World, submit
from tests.support import wait_for

pytestmark = pytest.mark.e2e
MANUAL = ("brightlist", "metricly", "paybridge")


def deletion_url(world: World) -> str:
    assert world.pipeline.deletion is not None
    return str(world.pipeline.deletion.url)


def recipients(world: World, request_id: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(f"{deletion_url(world)}/v1/requests/{request_id}/recipients",
                     headers=headers or world.pipeline.auth, timeout=30)  # fmt: skip


def act(world: World, request_id: str, instruction_id: str, action: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{deletion_url(world)}/v1/requests/{request_id}/recipients/{instruction_id}/{action}",
                      json=body, headers=world.pipeline.auth, timeout=30)  # fmt: skip


def entries(world: World, request_id: str, event_type: str) -> list[dict[str, Any]]:
    return [entry for entry in world.timeline(request_id) if entry["event_type"] == event_type]


def confirmations(world: World, request_id: str) -> list[str]:
    """The instruction ids of the request's ProviderConfirmed entries."""
    return [entry["details"]["instruction_id"] for entry in entries(world, request_id, "ProviderConfirmed")]


def test_an_operator_confirms_the_manual_recipients_and_the_deletion_completes(console_world: ConsoleWorld) -> None:
    world = console_world.world
    request_id = submit(world, world.customers[27], "delete")

    def waiting() -> dict[str, dict[str, Any]] | None:
        response = recipients(world, request_id)
        if response.status_code != 200:
            return None
        listed = {item["recipient"]: item for item in response.json()["recipients"]}
        return listed if response.json()["stage"] == "answering" and set(MANUAL) <= set(listed) else None

    listed = wait_for(waiting, timeout=180, what="the deletion waiting for its recipients")
    for name in MANUAL:
        manual = listed[name]
        assert (manual["state"], manual["may_confirm"], manual["may_resend"]) == ("manual", True, False)
        assert "instruct it by other means" in manual["reason"] and manual["kind"] == "delete" and manual["deadline"]
    assert listed["adreach"]["state"] == "not_notified" and not listed["adreach"]["may_confirm"]
    assert recipients(world, request_id, world.pipeline.auth_of("console")).status_code == 200, "the console's token"

    paybridge, brightlist = listed["paybridge"]["instruction_id"], listed["brightlist"]["instruction_id"]
    refused = act(world, request_id, paybridge, "resend", {"reason": "send it again please"})
    assert refused.status_code == 409 and "no endpoint: confirm it by hand" in refused.json()["detail"]
    note = {"note": "Paybridge's privacy desk confirmed by phone", "confirmation_id": "PB-2026-0042",
            "confirmed_by": console_world.people[Role.OPERATOR].id}  # fmt: skip
    confirmed = act(world, request_id, paybridge, "confirm", note)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["state"] == "confirmed" and confirmed.json()["confirmation_note"] == note["note"]
    assert act(world, request_id, paybridge, "confirm", note).status_code == 409, "confirmed once"
    wait_for(lambda: paybridge in confirmations(world, request_id) or None, timeout=60, what="its ProviderConfirmed")
    assert world.get(request_id)["status"] != "completed", "brightlist and metricly are still awaited"
    metricly = listed["metricly"]["instruction_id"]
    assert (
        act(world, request_id, metricly, "confirm", {"note": "Metricly's portal: visitor data purged"}).status_code
        == 200
    )

    assert act(world, request_id, brightlist, "confirm", {"note": "Brightlist emailed: removed"}).status_code == 200
    [completed] = wait_for(lambda: entries(world, request_id, "DeletionCompleted") or None, timeout=60,
                           what="DeletionCompleted")  # fmt: skip
    assert set(MANUAL) <= set(completed["details"]["providers_confirmed"])
    assert not set(MANUAL) & set(completed["details"]["providers_pending"])
    wait_for(lambda: entries(world, request_id, "RequestCompleted") or None, timeout=60, what="RequestCompleted")
    wait_for(lambda: world.get(request_id)["status"] == "completed" or None, timeout=60, what="intake's status")
    by_instruction = confirmations(world, request_id)
    assert {paybridge, brightlist, metricly} <= set(by_instruction) and len(by_instruction) == len(
        set(by_instruction)
    ), "each confirmation reported once, whoever recorded it (operator, the providers' callbacks)"
    assert recipients(world, request_id).json()["stage"] == "complete"


def test_what_deletion_does_not_know_is_a_404(console_world: ConsoleWorld) -> None:
    world = console_world.world
    assert recipients(world, str(uuid.uuid4())).status_code == 404
    answer = act(world, str(uuid.uuid4()), str(uuid.uuid4()), "confirm", {"note": "no such request"})
    assert answer.status_code == 404 and "no request" in answer.json()["detail"]
    assert act(world, str(uuid.uuid4()), "not-an-id", "resend", {"reason": "whatever"}).status_code == 422


def test_a_hold_is_placed_on_a_subject_listed_and_released(console_world: ConsoleWorld) -> None:
    world = console_world.world
    url, auth = f"{deletion_url(world)}/v1/legal-holds", world.pipeline.auth
    subject_key = uuid.uuid4().hex * 2  # nobody's: the world's other deletions must not be held
    operator = console_world.people[Role.OPERATOR].id
    placed = httpx.post(url, json={"reason": "Matter 2026-31 (preserve)", "subject_key": subject_key,
                                   "placed_by": operator}, headers=auth)  # fmt: skip
    assert placed.status_code == 201, placed.text
    hold = placed.json()
    assert (hold["scope"], hold["placed_by"], hold["subject_key"]) == ("subject", operator, subject_key)
    listed = httpx.get(url, params={"subject_key": subject_key}, headers=auth).json()["holds"]
    assert [item["hold_id"] for item in listed] == [hold["hold_id"]] and listed[0]["placed_at"]
    released = httpx.delete(f"{url}/{hold['hold_id']}", headers=auth).json()
    assert released == {"hold_id": hold["hold_id"], "released": True}
    assert httpx.get(url, params={"subject_key": subject_key}, headers=auth).json()["holds"] == []
    assert httpx.get(url, headers=world.pipeline.auth_of("monitoring")).status_code == 403
