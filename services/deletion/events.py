"""Every event the deletion worker puts on the timeline, built in one place: per-store erasures and corrections,
verifications, provider instructions and confirmations, overdue providers, and the answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.common.datamap import DataMap
from services.common.events import Event
from services.deletion.corrections import Corrected
from services.deletion.erasure import StoreOutcome
from services.deletion.handlers import PRODUCER
from services.deletion.jobs import Job
from services.deletion.notices import NoticeStatus
from services.deletion.providers.overdue import OverdueInstruction
from services.deletion.verification import Verification, store_records


class DeletionEvents:
    """Builds the deletion worker's events from a job and what its step found."""

    def __init__(self, datamap: DataMap) -> None:
        self.datamap = datamap

    def store_erased(self, job: Job, store: StoreOutcome) -> Event:
        actions = [{"collection": collection, "action": action, "records": count}
                   for collection, counted in sorted(store.counts.items())
                   for action, count in sorted(counted.items()) if count]  # fmt: skip
        return self._event(job, "StoreErased", {
            "store": store.store, "store_kind": self._kind(store.store), "operation": "delete",
            "outcome": "held" if store.total("held") else "done", "attempt": job.attempts + 1, "actions": actions,
            "exemptions": [exemption(store.store, item) for item in store.exempt], "reason": None,
        })  # fmt: skip

    def store_unavailable(self, job: Job, store: str, reason: str) -> Event:
        return self._event(job, "StoreErased", {
            "store": store, "store_kind": self._kind(store), "operation": "delete", "outcome": "unavailable",
            "attempt": job.attempts + 1, "actions": [], "exemptions": [], "reason": reason,
        })  # fmt: skip

    def store_corrected(self, job: Job, store: str, done: Sequence[Corrected]) -> Event:
        return self._event(job, "StoreErased", {"store": store, "store_kind": "sql", "operation": "correct",
                                                "outcome": "done", "attempt": job.attempts + 1,
                                                "actions": _corrected(done), "exemptions": [],
                                                "reason": None})  # fmt: skip

    @staticmethod
    def correction_reapplied(request_id: str, subject_key: str, item: Corrected) -> Event:
        """§7023(k): a refresh brought an old value back and the kept correction was applied again."""
        return Event("StoreErased", subject_key, PRODUCER, request_id=request_id, payload={
            "store": item.store, "store_kind": "sql", "operation": "correct", "outcome": "reapplied",
            "attempt": 1, "actions": _corrected([item]), "exemptions": [], "reason": None,
        })  # fmt: skip

    def deletion_verified(self, job: Job, attempt: int, check: Verification) -> Event:
        return self._event(job, "DeletionVerified", {
            "verified": check.verified, "exempt_records": check.exempt_records, "attempt": attempt,
            "remaining": [{"store": s, "collection": c, "records": n} for (s, c), n in sorted(check.remaining.items())],
        })  # fmt: skip

    def correction_verified(self, job: Job, stale: Sequence[Corrected], verified: bool) -> Event:
        return self._event(job, "DeletionVerified", {
            "verified": verified, "exempt_records": 0, "attempt": job.verifications + 1,
            "remaining": [{"store": i.store, "collection": f"{i.collection}.{i.field}", "records": i.records}
                          for i in stale if i.records],
        })  # fmt: skip

    def provider(self, job: Job, event_type: str, payload: dict[str, Any]) -> Event:
        """A recipient's instruction or confirmation, as the notices read it back (`NoticeStatus.events`)."""
        return self._event(job, event_type, payload)

    @staticmethod
    def provider_overdue(item: OverdueInstruction) -> Event:
        return Event("ProviderOverdue", item.subject_key, PRODUCER, request_id=item.request_id,
                     payload={"recipient": item.recipient, "instruction_id": item.instruction_id,
                              "confirm_by": item.deadline})  # fmt: skip

    def deletion_completed(self, job: Job, outcomes: Sequence[StoreOutcome], status: NoticeStatus) -> Event:
        stores = [{"store": store.store, "outcome": "held" if store.total("held") else "done",
                   "records": store_records(store)} for store in outcomes]  # fmt: skip
        return self._event(job, "DeletionCompleted", {
            "operation": "delete", "verified": bool(job.verified), "stores": stores,
            "exemptions": [exemption(store.store, item) for store in outcomes for item in store.exempt],
            "providers_confirmed": list(status.confirmed), "providers_pending": list(status.pending),
            "not_notified": _not_notified(status.not_notified), "undelivered": list(status.undelivered),
        })  # fmt: skip

    def correction_completed(self, job: Job, done: Sequence[Corrected], status: NoticeStatus) -> Event:
        stores = [{"store": store, "outcome": "done", "records": sum(d.records for d in done if d.store == store)}
                  for store in sorted({d.store for d in done})]  # fmt: skip
        return self._event(job, "DeletionCompleted", {
            "operation": "correct", "verified": bool(job.verified), "stores": stores, "exemptions": [],
            "providers_confirmed": list(status.confirmed), "providers_pending": list(status.pending),
            "not_notified": _not_notified(status.not_notified),
        })  # fmt: skip

    def request_completed(self, job: Job, outcome: str, summary: str) -> Event:
        return self._event(job, "RequestCompleted", {"outcome": outcome, "summary": summary})

    def _kind(self, store: str) -> str:
        return next((s.kind for s in self.datamap.stores if s.name == store), "")

    @staticmethod
    def _event(job: Job, event_type: str, payload: dict[str, Any]) -> Event:
        return Event(event_type, job.subject_key, PRODUCER, request_id=job.request_id, payload=payload)


def exemption(store: str, item: Any) -> dict[str, Any]:
    until = item.retain_until.date().isoformat() if item.retain_until else None
    return {"store": store, "collection": item.collection, "code": item.code, "basis": item.reason,
            "records": item.records, "retain_until": until}  # fmt: skip


def _corrected(done: Sequence[Corrected]) -> list[dict[str, Any]]:
    return [{"collection": f"{d.collection}.{d.field}", "action": "corrected", "records": d.records} for d in done]


def _not_notified(reasons: Mapping[str, str]) -> list[str]:
    return [f"{name}: {why}" for name, why in sorted(reasons.items())]
