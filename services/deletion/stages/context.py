"""What every stage works with: the adapters bootstrap wires (`Ports`), the job store, the event builder, and the
helpers every stage shares (opening a job's sealed inputs, publishing its events)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

from services.common.crypto import Sealed, Sealer
from services.common.datamap import DataMap
from services.common.datamap.subjects import for_subject_type
from services.common.events import Event
from services.common.outbox import Outbox
from services.common.stores.base import StoreConnector
from services.common.stores.scope import scoped_connectors
from services.deletion.corrections import CorrectionExecutor, KeptCorrections
from services.deletion.erasure import ErasureEngine, ErasureJournal, Ledger, LegalHolds
from services.deletion.events import DeletionEvents
from services.deletion.jobs import Job, JobStore
from services.deletion.notices import NoticeStatus, ProviderNotices
from services.deletion.settings import DeletionSettings


@dataclass
class Ports:
    """The adapters a deletion needs, wired by bootstrap."""

    engine: sa.Engine
    outbox: Outbox
    sealer: Sealer
    erasure: ErasureEngine
    journal: ErasureJournal
    ledger: Ledger
    holds: LegalHolds
    notices: ProviderNotices
    verifiers: Mapping[str, StoreConnector]  # the erased stores, searched again
    corrections: CorrectionExecutor
    kept: KeptCorrections


@dataclass
class StageContext:
    """Shared by the stages of one worker."""

    ports: Ports
    datamap: DataMap
    jobs: JobStore
    events: DeletionEvents
    topic: str
    settings: DeletionSettings
    relay_wakeup: threading.Event
    alive: Callable[[], None]  # tells the runtime the worker is not stuck, between the jobs of a long batch

    def datamap_for(self, job: Job) -> DataMap:
        """The part of the data map holding the job's subject type's records: all it erases and searches again."""
        return for_subject_type(self.datamap, job.subject_type)

    def verifiers_for(self, job: Job) -> dict[str, StoreConnector]:
        return scoped_connectors(self.ports.verifiers, self.datamap_for(job))

    def identifiers(self, job: Job) -> dict[str, frozenset[str]]:
        sealed = Sealed.from_json(job.identifiers_sealed or {})
        opened = self.ports.sealer.open(sealed, job.subject_key, job.request_id)
        return {kind: frozenset(values) for kind, values in opened.items() if values}

    def corrections(self, job: Job) -> dict[str, str]:
        sealed = Sealed.from_json(job.corrections_sealed or {})
        opened = self.ports.sealer.open(sealed, job.subject_key, job.request_id)
        return {str(key): str(value) for key, value in opened.items()}

    def publish(self, conn: sa.Connection, events: Sequence[Event]) -> None:
        """Put the step's events in the outbox, in the step's transaction."""
        self.ports.outbox.add(conn, self.topic, events)


class Operation(Protocol):
    """The steps of one operation (delete or correct) through the stages: erase, verify, and the answer's events."""

    def erase(self, job: Job) -> None: ...

    def verify(self, job: Job) -> None: ...

    def answer(self, conn: sa.Connection, job: Job, status: NoticeStatus) -> list[Event]: ...
