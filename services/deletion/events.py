"""Every event the deletion worker puts on the timeline, built in one place: per-store erasures and corrections,
verifications, provider instructions and confirmations, overdue providers, and the answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from services.common.datamap import DataMap
from services.common.event_types import EventType
from services.common.events import Event
from services.common.payloads.deletion import (
    CollectionAction,
    DeletionCompletedPayload,
    DeletionVerifiedPayload,
    ProviderConfirmedPayload,
    ProviderInstructedPayload,
    ProviderOverduePayload,
    Remaining,
    StoreCount,
    StoreErasedPayload,
)
from services.common.payloads.requests import RequestCompletedPayload
from services.common.payloads.shared import Exemption
from services.common.records import Record
from services.deletion.corrections import Corrected
from services.deletion.erasure import StoreOutcome
from services.deletion.erasure.outcome import Exemption as KeptRecords
from services.deletion.handlers import PRODUCER
from services.deletion.jobs import Job
from services.deletion.notices import NoticeStatus
from services.deletion.providers.overdue import OverdueInstruction
from services.deletion.verification import Verification, store_records

ProviderPayload = ProviderInstructedPayload | ProviderConfirmedPayload
P = TypeVar("P", bound=Record)


class DeletionEvents:
    """Builds the deletion worker's events from a job and what its step found."""

    def __init__(self, datamap: DataMap) -> None:
        self.datamap = datamap

    def store_erased(self, job: Job, store: StoreOutcome) -> Event[StoreErasedPayload]:
        actions = tuple(CollectionAction(collection=collection, action=action, records=count)
                        for collection, counted in sorted(store.counts.items())
                        for action, count in sorted(counted.items()) if count)  # fmt: skip
        return _event(job, EventType.STORE_ERASED, StoreErasedPayload(
            store=store.store, store_kind=self._kind(store.store), operation="delete",
            outcome="held" if store.total("held") else "done", attempt=job.attempts + 1, actions=actions,
            exemptions=tuple(exemption(store.store, item) for item in store.exempt),
        ))  # fmt: skip

    def store_unavailable(self, job: Job, store: str, reason: str) -> Event[StoreErasedPayload]:
        return _event(job, EventType.STORE_ERASED, StoreErasedPayload(
            store=store, store_kind=self._kind(store), operation="delete", outcome="unavailable",
            attempt=job.attempts + 1, reason=reason,
        ))  # fmt: skip

    def store_corrected(self, job: Job, store: str, done: Sequence[Corrected]) -> Event[StoreErasedPayload]:
        return _event(job, EventType.STORE_ERASED, StoreErasedPayload(
            store=store, store_kind="sql", operation="correct", outcome="done", attempt=job.attempts + 1,
            actions=_corrected(done),
        ))  # fmt: skip

    @staticmethod
    def correction_reapplied(request_id: str, subject_key: str, item: Corrected) -> Event[StoreErasedPayload]:
        """§7023(k): a refresh brought an old value back and the kept correction was applied again."""
        return Event(EventType.STORE_ERASED, subject_key, PRODUCER, request_id=request_id, payload=StoreErasedPayload(
            store=item.store, store_kind="sql", operation="correct", outcome="reapplied", attempt=1,
            actions=_corrected([item]),
        ))  # fmt: skip

    def deletion_verified(self, job: Job, attempt: int, check: Verification) -> Event[DeletionVerifiedPayload]:
        remaining = tuple(Remaining(store=store, collection=collection, records=records)
                          for (store, collection), records in sorted(check.remaining.items()))  # fmt: skip
        return _event(job, EventType.DELETION_VERIFIED, DeletionVerifiedPayload(
            verified=check.verified, exempt_records=check.exempt_records, attempt=attempt, remaining=remaining,
        ))  # fmt: skip

    def correction_verified(
        self, job: Job, stale: Sequence[Corrected], verified: bool
    ) -> Event[DeletionVerifiedPayload]:
        remaining = tuple(Remaining(store=i.store, collection=f"{i.collection}.{i.field}", records=i.records)
                          for i in stale if i.records)  # fmt: skip
        return _event(job, EventType.DELETION_VERIFIED, DeletionVerifiedPayload(
            verified=verified, exempt_records=0, attempt=job.verifications + 1, remaining=remaining,
        ))  # fmt: skip

    @staticmethod
    def provider(job: Job, event_type: EventType, payload: ProviderPayload) -> Event[ProviderPayload]:
        """A recipient's instruction or confirmation, as the notices read it back (`NoticeStatus.events`)."""
        return _event(job, event_type, payload)

    @staticmethod
    def provider_overdue(item: OverdueInstruction) -> Event[ProviderOverduePayload]:
        payload = ProviderOverduePayload(recipient=item.recipient, instruction_id=item.instruction_id,
                                         confirm_by=item.deadline)  # fmt: skip
        return Event(EventType.PROVIDER_OVERDUE, item.subject_key, PRODUCER, payload, request_id=item.request_id)

    def deletion_completed(self, job: Job, outcomes: Sequence[StoreOutcome],
                           status: NoticeStatus) -> Event[DeletionCompletedPayload]:  # fmt: skip
        stores = tuple(StoreCount(store=store.store, outcome="held" if store.total("held") else "done",
                                  records=store_records(store)) for store in outcomes)  # fmt: skip
        return _event(job, EventType.DELETION_COMPLETED, DeletionCompletedPayload(
            operation="delete", verified=bool(job.verified), stores=stores,
            exemptions=tuple(exemption(store.store, item) for store in outcomes for item in store.exempt),
            providers_confirmed=tuple(status.confirmed), providers_pending=tuple(status.pending),
            not_notified=_not_notified(status.not_notified), undelivered=tuple(status.undelivered),
        ))  # fmt: skip

    def correction_completed(self, job: Job, done: Sequence[Corrected],
                             status: NoticeStatus) -> Event[DeletionCompletedPayload]:  # fmt: skip
        stores = tuple(StoreCount(store=store, outcome="done", records=sum(d.records for d in done if d.store == store))
                       for store in sorted({d.store for d in done}))  # fmt: skip
        return _event(job, EventType.DELETION_COMPLETED, DeletionCompletedPayload(
            operation="correct", verified=bool(job.verified), stores=stores,
            providers_confirmed=tuple(status.confirmed), providers_pending=tuple(status.pending),
            not_notified=_not_notified(status.not_notified),
        ))  # fmt: skip

    def request_completed(self, job: Job, outcome: str, summary: str) -> Event[RequestCompletedPayload]:
        return _event(job, EventType.REQUEST_COMPLETED, RequestCompletedPayload(outcome=outcome, summary=summary))

    def _kind(self, store: str) -> str:
        return next((s.kind for s in self.datamap.stores if s.name == store), "")


def _event(job: Job, event_type: EventType, payload: P) -> Event[P]:
    return Event(event_type, job.subject_key, PRODUCER, payload, request_id=job.request_id)


def exemption(store: str, item: KeptRecords) -> Exemption:
    until = item.retain_until.date().isoformat() if item.retain_until else None
    return Exemption(store=store, collection=item.collection, code=item.code, basis=item.reason,
                     records=item.records, retain_until=until)  # fmt: skip


def _corrected(done: Sequence[Corrected]) -> tuple[CollectionAction, ...]:
    return tuple(CollectionAction(collection=f"{d.collection}.{d.field}", action="corrected", records=d.records)
                 for d in done)  # fmt: skip


def _not_notified(reasons: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(f"{name}: {why}" for name, why in sorted(reasons.items()))
