"""The console runs in the stack, and what a person does through it reaches the request's timeline in audit."""

from __future__ import annotations

from typing import Any

import httpx

from services.common.outbox import Outbox
from services.common.serde import SingleObjectCodec
from services.common.topics import OPERATOR_ACTIONS, TopicNames
from services.console import orm
from services.console.accounts.roles import Operator, Role
from services.console.actions import Accountability, Acted, Action, Result
from tests.e2e.console.conftest import ConsoleWorld
from tests.e2e.demo_world import submit
from tests.support import wait_for


def test_the_console_is_ready(console_world: ConsoleWorld) -> None:
    assert httpx.get(f"{console_world.url}/readyz").status_code == 200


def test_an_action_put_on_the_record_lands_on_the_requests_timeline(console_world: ConsoleWorld) -> None:
    world = console_world.world
    request_id = submit(world, world.customers[3], "delete")
    wait_for(lambda: world.timeline(request_id) or None, what="the request's timeline")
    subject_key = None  # audit's timeline gives it with the queue work; the entry is on the request's timeline anyway
    topic = TopicNames(world.pipeline.env["CCPA_TOPIC_NAMESPACE"])(OPERATOR_ACTIONS)
    record = Accountability(console_world.engine, Outbox(orm.outbox, SingleObjectCodec()), topic)
    operator = console_world.people[Role.OPERATOR]
    event = record.record(Operator(operator.id, "Test Operator", Role.OPERATOR),
                          Acted(Action.EXTENDED, Result.REFUSED, request_id=request_id, subject_key=subject_key,
                                reason="needs the archive", detail="not allowed yet"))  # fmt: skip

    def on_timeline() -> dict[str, Any] | None:
        return next((e for e in world.timeline(request_id) if e["event_id"] == event.event_id), None)

    entry = wait_for(on_timeline, timeout=30, what="the OperatorActed entry")
    assert entry["event_type"] == "OperatorActed" and entry["producer"] == "console"
    assert entry["details"]["actor_id"] == operator.id and entry["details"]["action"] == "extended"
    assert "Test Operator" not in str(entry) and operator.username not in str(entry)
