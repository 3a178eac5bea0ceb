"""Composition root of deletion: data map, erasure engine, ledger, holds, provider instructions and their
confirmations (polled, received by callback, or recorded by an operator), consumer, worker."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from services.common.consumer import ConsumerRunner
from services.common.crypto import KeyStore, Sealer
from services.common.datamap import DataMap, load_datamap
from services.common.db import make_engine
from services.common.outbox import Outbox, OutboxRelay
from services.common.runtime import ServiceRuntime
from services.common.stores.base import StoreConnector
from services.common.stores.factory import open_connector
from services.common.topics import DELETION_RESULTS
from services.deletion import orm
from services.deletion.corrections import CorrectionExecutor, KeptCorrections
from services.deletion.erasure import ErasureEngine, ErasureJournal, Ledger, LegalHolds, erasure_keys
from services.deletion.erasure.residue import Vacuum
from services.deletion.handlers import SUBSCRIBED, DeletionHandlers
from services.deletion.migrations import SCHEMA
from services.deletion.notices import ConfirmationReporter, ProviderNotices, roles_of
from services.deletion.providers.confirmations import CallbackHandler, StatusPoller
from services.deletion.providers.instructions import InstructionQueue
from services.deletion.providers.model import PollPolicy, ProviderDirectory
from services.deletion.providers.sender import InstructionSender
from services.deletion.recipients import Recipients
from services.deletion.settings import DeletionSettings
from services.deletion.stages.context import Ports
from services.deletion.worker import DeletionWorker

ERASED_KINDS = ("sql", "redis", "jsonl")


@dataclass
class Deletion:
    runtime: ServiceRuntime
    datamap: DataMap
    ports: Ports
    consumer: ConsumerRunner
    worker: DeletionWorker
    relay: OutboxRelay
    callbacks: CallbackHandler  # providers' signed confirmations, served by the app
    recipients: Recipients  # a request's instructions as operators see and act on them, served by the app

    def start(self) -> None:
        self.runtime.prepare()
        notices = self.ports.notices
        self.runtime.start_worker("request-consumer", self.consumer.run, lambda: self.consumer.last_loop_at)
        self.runtime.start_worker("deletion-worker", self.worker.run, lambda: self.worker.last_loop_at)
        self.runtime.start_worker("provider-instructions", notices.run, lambda: notices.last_loop_at)
        self.runtime.start_worker("outbox-relay", self.relay.run, lambda: self.relay.last_loop_at)

    def stop(self) -> None:
        self.runtime.shutdown()
        self.ports.erasure.close()
        for connector in self.ports.verifiers.values():
            connector.close()
        self.ports.corrections.close()


def bootstrap(settings: DeletionSettings) -> Deletion:
    datamap = load_datamap(settings.datamap_path)
    runtime = ServiceRuntime(settings, "deletion", SCHEMA)
    engine = runtime.engine
    keystore = KeyStore(make_engine(settings.keystore_url), settings.master_key_bytes(), settings.active_master_key)
    sealer = Sealer(keystore)
    keys = erasure_keys(os.environ)
    journal = ErasureJournal(engine)
    directory = ProviderDirectory.from_datamap(datamap)
    outbox = Outbox(orm.outbox, runtime.codec)
    reporter = ConfirmationReporter(roles_of(datamap), outbox, runtime.topics(DELETION_RESULTS))
    queue = InstructionQueue(sealer, on_confirmed=reporter)
    poller = StatusPoller(engine, queue, directory, os.environ,
                          policy=PollPolicy(first_seconds=settings.provider_poll_first_seconds))  # fmt: skip
    sender = InstructionSender(engine, queue, directory, os.environ, poller=poller)
    notices = ProviderNotices(datamap, queue, directory, sender, poller, timedelta(days=settings.provider_confirm_days),
                              settings.provider_callback_url)  # fmt: skip
    verifiers: dict[str, StoreConnector] = {
        store.name: open_connector(datamap, store, os.environ) for store in datamap.stores if store.kind in ERASED_KINDS
    }
    executor = CorrectionExecutor(datamap)
    vacuum = Vacuum(settings.erasure_vacuum, settings.erasure_vacuum_timeout_seconds)
    erasure = ErasureEngine(datamap, keys.deidentify, journal, vacuum)
    ledger, kept = Ledger(engine, keys.ledger), KeptCorrections(engine, sealer, executor)
    ports = Ports(engine, outbox, sealer, erasure, journal, ledger, LegalHolds(engine),
                  notices, verifiers, executor, kept)  # fmt: skip
    relay = runtime.outbox_relay(orm.outbox)
    worker = DeletionWorker(ports, datamap, runtime.topics, settings, relay.wakeup)

    def wake() -> None:
        relay.wakeup.set()
        worker.wakeup.set()

    consumer = runtime.consumer(settings.consumer_group, SUBSCRIBED, orm.inbox,
                                DeletionHandlers().routes, after_commit=wake)  # fmt: skip
    callbacks = CallbackHandler(engine, queue, directory, os.environ)
    recipients = Recipients(engine, queue, notices.roles, wake, notices.wakeup)
    return Deletion(runtime, datamap, ports, consumer, worker, relay, callbacks, recipients)
