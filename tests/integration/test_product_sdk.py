"""Product teams' helpers against the real broker: GPC middleware in a Starlette app, consent event producer."""

from __future__ import annotations

import os
import uuid

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from services.common.serde import SingleObjectCodec
from services.common.topics import CONSENT_CHANGES, TopicNames, ensure_topics
from services.optout.sdk import ConsentEvents, GpcMiddleware
from tests.support import read_topic

pytestmark = pytest.mark.integration


@pytest.fixture
def events(kafka_bootstrap: str) -> ConsentEvents:
    from confluent_kafka.admin import AdminClient

    namespace = f"sdk{uuid.uuid4().hex[:8]}."
    ensure_topics(AdminClient({"bootstrap.servers": kafka_bootstrap}), TopicNames(namespace), 3, 1,
                  (CONSENT_CHANGES,))  # fmt: skip
    return ConsentEvents({"bootstrap.servers": kafka_bootstrap}, os.urandom(32), "web-shop", namespace)


def shop(events: ConsentEvents) -> TestClient:
    async def page(request: Request) -> JSONResponse:
        return JSONResponse({"gpc": request.scope.get("state", {}).get("gpc", False)})

    def identify(scope: dict[str, object]) -> tuple[str, str] | None:
        cookies = dict(scope.get("headers", []))  # type: ignore[arg-type]
        device = cookies.get(b"x-device-id")
        return ("device_id", device.decode()) if isinstance(device, bytes) else None

    app = Starlette(routes=[Route("/", page)])
    app.add_middleware(GpcMiddleware, events=events, identify=identify)  # type: ignore[arg-type]
    return TestClient(app)


def consent_events(events: ConsentEvents, bootstrap: str) -> list[dict[str, object]]:
    codec = SingleObjectCodec()
    return [codec.decode(m.value()).payload.to_record() | {"subject_key": codec.decode(m.value()).subject_key}
            for m in read_topic(bootstrap, events.topic)]  # fmt: skip


def test_gpc_middleware_follows_the_spec_and_emits_once_per_browser(
    events: ConsentEvents, kafka_bootstrap: str
) -> None:
    client = shop(events)
    cases = [
        ([("Sec-GPC", "1"), ("X-Device-Id", "browser-a")], True),
        ([("Sec-GPC", "1"), ("X-Device-Id", "browser-a")], True),  # same browser again: no second event
        ([("Sec-GPC", "0"), ("X-Device-Id", "browser-b")], False),
        ([("Sec-GPC", "1, 1"), ("X-Device-Id", "browser-c")], False),
        ([("Sec-GPC", "0"), ("Sec-GPC", "1"), ("X-Device-Id", "browser-d")], True),
        ([("Sec-GPC", "1")], True),  # honoured for the request, but no identity to emit for
    ]
    for headers, honoured in cases:
        assert client.get("/", headers=headers).json() == {"gpc": honoured}
    emitted = consent_events(events, kafka_bootstrap)
    assert sorted(e["subject_key"] for e in emitted) == sorted(
        [events.subject_key("device_id", "browser-a"), events.subject_key("device_id", "browser-d")]
    )
    assert all(e["source"] == "gpc" and e["sale_opt_out"] and e["scope"] == "device" for e in emitted)
    assert all("browser-" not in repr(e) for e in emitted), "device ids travel only as keyed hashes"


def test_consent_events_hash_identifiers_and_mark_the_consumers_own_action(
    events: ConsentEvents, kafka_bootstrap: str
) -> None:
    events.opt_out("email", " Shopper@Example.com ")
    events.opt_in("email", "shopper@example.com")
    events.age_known("account_id", "acct-9", "13_15")
    emitted = consent_events(events, kafka_bootstrap)
    shopper = [e for e in emitted if e["subject_key"] == events.subject_key("email", "shopper@example.com")]
    assert [(e["sale_opt_out"], e["consumer_action"]) for e in shopper] == [(True, False), (False, True)]
    minor = [e for e in emitted if e["subject_key"] == events.subject_key("account_id", "acct-9")]
    assert [e["age_band"] for e in minor] == ["13_15"]
    assert "shopper" not in repr(emitted)
