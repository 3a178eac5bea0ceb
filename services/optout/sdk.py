"""For product teams: emit consent changes from a service, honour Sec-GPC in any ASGI app (FastAPI, Starlette),
and inline the tag gate's decisions into a page (TagDecisionMiddleware, docs/flows.md).

events = ConsentEvents(kafka_config, subject_key_secret, producer="web-shop")
app.add_middleware(GpcMiddleware, events=events, identify=lambda scope: ("device_id", cookie_of(scope)))
app.add_middleware(TagDecisionMiddleware, flows=["adreach-pixel"], decide=from_endpoint(url, device_of))
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

import anyio.to_thread

from services.common.crypto import keyed_hash
from services.common.event_types import EventType
from services.common.events import Event, utcnow
from services.common.flows.page import TagDecisionMiddleware as TagDecisionMiddleware
from services.common.flows.page import TagDecisions as TagDecisions
from services.common.flows.page import from_decider as from_decider
from services.common.flows.page import from_endpoint as from_endpoint
from services.common.flows.page import gpc_requested as gpc_requested
from services.common.identity import normalise
from services.common.kafka import EventProducer, event_message
from services.common.payloads.consent import ConsentChangedPayload
from services.common.serde import SingleObjectCodec
from services.common.topics import CONSENT_CHANGES, TopicNames
from services.optout.gpp import decode_gpp, decode_usp

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Identify = Callable[[Scope], tuple[str, str] | None]


class GpcRecorder(Protocol):
    """Where GpcMiddleware sends a browser's signal: ConsentEvents (Kafka), or a site's own call to intake."""

    def gpc(self, kind: str, value: str) -> object: ...


class ConsentEvents:
    """Builds and publishes ConsentChanged events; identifiers leave the process only as keyed hashes."""

    def __init__(self, kafka_config: dict[str, Any], subject_key_secret: bytes, producer: str,
                 topic_namespace: str = "", codec: SingleObjectCodec | None = None) -> None:  # fmt: skip
        self.secret = subject_key_secret
        self.producer_name = producer
        self.topic = TopicNames(topic_namespace)(CONSENT_CHANGES)
        self.codec = codec or SingleObjectCodec()  # services.common.codec.codec_for(...) for the wire format
        self.producer = EventProducer(kafka_config, client_id=f"consent-{producer}")

    def subject_key(self, kind: str, value: str) -> str:
        return keyed_hash(self.secret, kind, normalise(kind, value))

    def gpc(self, kind: str, value: str) -> Event:
        """A browser sent Sec-GPC: 1 (§7025): opt the subject (and the device, if that is the identifier) out."""
        return self._emit(kind, value, source="gpc", sale_opt_out=True, share_opt_out=True, signal="Sec-GPC: 1")

    def opt_out(self, kind: str, value: str, source: str = "product_event") -> Event:
        return self._emit(kind, value, source=source, sale_opt_out=True, share_opt_out=True)

    def opt_in(self, kind: str, value: str) -> Event:
        """Only for the consumer's own action (a toggle they switched themselves, §7028)."""
        return self._emit(kind, value, source="product_event", sale_opt_out=False, share_opt_out=False,
                          consumer_action=True)  # fmt: skip

    def limit(self, kind: str, value: str, categories: list[str]) -> Event:
        return self._emit(kind, value, source="product_event", limit_sensitive=sorted(categories))

    def privacy_string(self, kind: str, value: str, string: str) -> Event:
        """A GPP string (or a 4-character US Privacy string) the CMP produced; validated here, before it leaves."""
        if len(string) == 4:
            decode_usp(string)
            return self._emit(kind, value, source="usp", signal=string)
        decode_gpp(string)
        return self._emit(kind, value, source="gpp", signal=string)

    def age_known(self, kind: str, value: str, age_band: str) -> Event:
        """Actual knowledge of the consumer's age band: under_13 | 13_15 | 16_plus (§1798.120(c))."""
        return self._emit(kind, value, source="product_event", age_band=age_band)

    def _emit(self, kind: str, value: str, source: str, **changes: Any) -> Event:
        subject_key, now = self.subject_key(kind, value), utcnow()
        payload = ConsentChangedPayload(
            source=source,
            scope="device" if kind == "device_id" else "consumer",
            device_key=subject_key if kind == "device_id" else None,
            effective_at=now,
            **changes,
        )
        event = Event(EventType.CONSENT_CHANGED, subject_key, self.producer_name, payload=payload, occurred_at=now)
        self.producer.send_all([event_message(self.topic, event, self.codec)])
        return event

    def close(self) -> None:
        self.producer.close()


class GpcMiddleware:
    """Detects Sec-GPC exactly as the GPC spec says, marks the request, and emits one event per identity per TTL."""

    def __init__(self, app: ASGIApp, events: GpcRecorder, identify: Identify, ttl_seconds: float = 3600.0,
                 cache_size: int = 100_000) -> None:  # fmt: skip
        self.app = app
        self.events = events
        self.identify = identify
        self.ttl = ttl_seconds
        self.cache_size = cache_size
        self.recent: OrderedDict[tuple[str, str], float] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and gpc_requested(scope):
            scope.setdefault("state", {})["gpc"] = True
            identity = self.identify(scope)
            if identity is not None and self._first_in_ttl(identity):
                # Delivery waits for the broker's acknowledgement: keep it off the event loop.
                await anyio.to_thread.run_sync(self.events.gpc, *identity)
        await self.app(scope, receive, send)

    def _first_in_ttl(self, identity: tuple[str, str]) -> bool:
        now = time.monotonic()
        seen = self.recent.get(identity)
        if seen is not None and now - seen < self.ttl:
            return False
        self.recent[identity] = now
        self.recent.move_to_end(identity)
        while len(self.recent) > self.cache_size:
            self.recent.popitem(last=False)
        return True
