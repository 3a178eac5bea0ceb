"""Evidence of effect: every denied flow becomes a FlowBlocked event on privacy.flows.blocked, counted per subject,
flow, reason and probe between flushes (a batch export of 65,000 opted-out rows is one event per subject, not one
per row). Subjects travel as their keyed hash only; audit puts each event on the timeline of the opt-out or limit
whose state decided it."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.common.event_types import EventType
from services.common.events import Event, utcnow
from services.common.flows.decision import Deny, FlowRule
from services.common.kafka import EventProducer, OutgoingMessage, event_message
from services.common.payloads.flows import FlowBlockedPayload
from services.common.serde import SingleObjectCodec
from services.common.topics import FLOWS_BLOCKED, TopicNames


@dataclass
class _Tally:
    count: int
    first_at: datetime
    last_at: datetime
    state_version: int | None
    request_id: str | None


Key = tuple[str, str, str, bool]  # subject key, flow, reason, probe


class BlockedFlows:
    """Collects denials and publishes them as FlowBlocked; `flush()` sends what was collected (a batch job calls it at
    the end of its run, a long-running service every few seconds). Thread-safe."""

    def __init__(self, kafka_config: dict[str, Any], gate: str, producer: str | None = None,
                 topics: TopicNames | None = None, codec: SingleObjectCodec | None = None) -> None:  # fmt: skip
        self.gate = gate
        self.producer_name = producer or gate
        self.topic = (topics or TopicNames(""))(FLOWS_BLOCKED)
        self.codec = codec or SingleObjectCodec()  # a RegistryCodec where the pipeline writes the wire format
        self.producer = EventProducer(kafka_config, client_id=f"flows-{gate}")
        self.rules: dict[str, FlowRule] = {}
        self.pending: dict[Key, _Tally] = {}
        self.lock = threading.Lock()

    def record(self, subject_key: str, denial: Deny, rule: FlowRule, *, probe: bool = False, count: int = 1) -> None:
        """Count `count` records, calls or tag loads of this subject that the flow did not carry."""
        now = utcnow()
        key = (subject_key, denial.flow, denial.reason.value, probe)
        with self.lock:
            self.rules[rule.name] = rule
            tally = self.pending.get(key)
            if tally is None:
                self.pending[key] = _Tally(count, now, now, denial.state_version, denial.request_id)
            else:
                tally.count += count
                tally.last_at = now

    def events(self) -> list[Event[FlowBlockedPayload]]:
        """Take what was collected, as events (emptying the tally)."""
        with self.lock:
            pending, self.pending = self.pending, {}
            rules = dict(self.rules)
        events = []
        for (subject_key, flow, reason, probe), tally in pending.items():
            rule = rules[flow]
            payload = FlowBlockedPayload(
                flow=flow, recipient=rule.recipient, relation=rule.relation.value, channel=rule.channel,
                reason=reason, gate=self.gate, count=tally.count, first_at=tally.first_at, last_at=tally.last_at,
                state_version=tally.state_version, probe=probe,
            )  # fmt: skip
            events.append(Event(EventType.FLOW_BLOCKED, subject_key, self.producer_name, payload=payload,
                                request_id=tally.request_id, occurred_at=tally.last_at))  # fmt: skip
        return events

    def flush(self, timeout: float = 30.0) -> int:
        """Publish what was collected and wait for the broker; the number of events sent. On a failure the tally is
        put back, so the next flush sends it (nothing is lost, at worst counted in a later event)."""
        events = self.events()
        if not events:
            return 0
        messages: list[OutgoingMessage] = [event_message(self.topic, event, self.codec) for event in events]
        try:
            self.producer.send_all(messages, timeout)
        except Exception:
            self._put_back(events)
            raise
        return len(events)

    def _put_back(self, events: list[Event[FlowBlockedPayload]]) -> None:
        with self.lock:
            for event in events:
                p = event.payload
                key = (event.subject_key, p.flow, p.reason, p.probe)
                tally = self.pending.get(key)
                if tally is None:
                    self.pending[key] = _Tally(p.count, p.first_at, p.last_at, p.state_version, event.request_id)
                else:
                    tally.count += p.count
                    tally.first_at = min(tally.first_at, p.first_at)

    def close(self) -> None:
        self.producer.close()
