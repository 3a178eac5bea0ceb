"""The two common shapes of a flow leaving the business, gated: a batch export (ExportGate filters an iterator of
records) and an outbound call (CallGate calls only when allowed, after checking the payload's content). Each denial
goes to a DenialSink (evidence.BlockedFlows in a service: FlowBlocked on the opt-out's timeline). No Kafka here."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, TypeVar

from services.common.flows.content import revealed_sensitive
from services.common.flows.decision import Decider, Decision, Deny, FlowRule
from services.common.flows.vocabulary import DenyReason

log = logging.getLogger(__name__)
R = TypeVar("R")
P = TypeVar("P")
Keys = str | Iterable[str]


class DenialSink(Protocol):
    """Where a gate records what it held back (evidence.BlockedFlows, or a list in a unit test)."""

    def record(self, subject_key: str, denial: Deny, rule: FlowRule, *, probe: bool = False, count: int = 1) -> None:
        """Count one denied record, call or tag load of this subject."""
        ...

    def flush(self, timeout: float = 30.0) -> int:
        """Publish what was recorded; how many events."""
        ...


def first_key(keys: Keys) -> str:
    """The key a denial is recorded under: the subject's first (its primary) key."""
    return keys if isinstance(keys, str) else next(iter(keys), "")


def _rule(decider: Decider, flow: str) -> FlowRule:
    rule = decider.rules.get(flow)
    if rule is None:
        raise ValueError(f"the data map registers no flow named {flow!r}: a gate needs a registered flow")
    return rule


@dataclass
class ExportResult:
    """What a gated export wrote and held back."""

    written: int = 0
    blocked: int = 0


class ExportGate:
    """A batch job's export through the decision: only allowed records are yielded (Civ. Code §1798.120)."""

    def __init__(self, decider: Decider, flow: str, sink: DenialSink) -> None:
        self.decider = decider
        self.rule = _rule(decider, flow)
        self.sink = sink
        self.blocked = 0

    def filter(self, records: Iterable[R], keys: Callable[[R], Keys]) -> Iterator[R]:
        """The allowed records of `records`; `keys` gives a record's subject key (or the keys of one person)."""
        for record in records:
            subject = keys(record)
            decision = self.decider.decide(subject, self.rule.name)
            if isinstance(decision, Deny):
                self.blocked += 1
                self.sink.record(first_key(subject), decision, self.rule)
            else:
                yield record

    def run(self, records: Iterable[R], keys: Callable[[R], Keys], write: Callable[[R], object]) -> ExportResult:
        """Write each allowed record, then flush the evidence (also when writing fails half-way)."""
        result = ExportResult()
        before = self.blocked
        try:
            for record in self.filter(records, keys):
                write(record)
                result.written += 1
        finally:
            result.blocked = self.blocked - before
            self.sink.flush()
        return result

    def probe(self, subject_key: str) -> Decision:
        """Replay a synthetic record of the subject through the gate; nothing is written whatever the decision."""
        decision = self.decider.decide(subject_key, self.rule.name)
        if isinstance(decision, Deny):
            self.sink.record(subject_key, decision, self.rule, probe=True)
        return decision


def text_values(payload: object) -> Iterator[str]:
    """Every string in a payload (nested mappings and sequences included)."""
    if isinstance(payload, str):
        yield payload
    elif isinstance(payload, Mapping):
        for value in payload.values():
            yield from text_values(value)
    elif isinstance(payload, list | tuple | set | frozenset):
        for item in payload:
            yield from text_values(item)


def undeclared_sensitive(payload: object, rule: FlowRule) -> frozenset[str]:
    """Sensitive sub-categories the payload reveals that the flow does not declare it carries (Healthline)."""
    found: set[str] = set()
    for text in text_values(payload):
        found |= revealed_sensitive(text)
    return frozenset(found) - rule.sensitive


class CallGate:
    """An outbound call through the decision: `send` calls only when the subject's data may go to the flow and the
    payload reveals no sensitive PI the flow does not declare (the purpose check on outbound payloads)."""

    def __init__(self, decider: Decider, flow: str, sink: DenialSink) -> None:
        self.decider = decider
        self.rule = _rule(decider, flow)
        self.sink = sink

    def check(self, subject: Keys, payload: object, *, gpc: bool = False) -> Decision:
        """The decision for this subject and payload, without calling or recording anything."""
        decision = self.decider.decide(subject, self.rule.name, gpc=gpc)
        if decision and undeclared_sensitive(payload, self.rule):
            state = self.decider.states.get(first_key(subject))
            request_id = state.request_id if state is not None else None
            return Deny(self.rule.name, DenyReason.SENSITIVE_CONTENT, decision.state_version, request_id)
        return decision

    def send(self, subject: Keys, payload: P, call: Callable[[P], object], *, gpc: bool = False) -> Decision:
        """Call `call(payload)` when allowed; otherwise record the denial. The decision either way."""
        decision = self.check(subject, payload, gpc=gpc)
        if isinstance(decision, Deny):
            self.sink.record(first_key(subject), decision, self.rule)
        else:
            call(payload)
        return decision

    def probe(self, subject_key: str) -> Decision:
        """Replay a synthetic call for the subject: recorded as a probe when denied, never sent."""
        decision = self.decider.decide(subject_key, self.rule.name)
        if isinstance(decision, Deny):
            self.sink.record(subject_key, decision, self.rule, probe=True)
        return decision


class PeriodicFlush:
    """Flush a long-running service's evidence every few seconds (and once more on exit)."""

    def __init__(self, sink: DenialSink, every_seconds: float = 5.0) -> None:
        self.sink = sink
        self.every_seconds = every_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flow-evidence-flush", daemon=True)

    def __enter__(self) -> PeriodicFlush:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:  # fmt: skip
        self._stop.set()
        self._thread.join(10)
        self.sink.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.every_seconds):
            try:
                self.sink.flush()
            except Exception as exc:  # the tally is kept and sent by the next flush
                log.warning("flow evidence not flushed; trying again", extra={"error": str(exc)[:200]})
