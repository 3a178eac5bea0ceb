"""Composition root of discovery: data map, store connectors, request (and deletion results) consumer, walk worker,
relay."""

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
from services.discovery import orm
from services.discovery.handlers import SUBSCRIBED, DiscoveryHandlers
from services.discovery.migrations import SCHEMA
from services.discovery.report import Letterhead
from services.discovery.reporting import ReportPublisher
from services.discovery.settings import DiscoverySettings
from services.discovery.worker import DiscoveryWorker


@dataclass
class Discovery:
    runtime: ServiceRuntime
    datamap: DataMap
    connectors: dict[str, StoreConnector]
    consumer: ConsumerRunner
    worker: DiscoveryWorker
    relay: OutboxRelay
    reports: ReportPublisher

    def start(self) -> None:
        self.runtime.prepare()
        self.runtime.start_worker("request-consumer", self.consumer.run, lambda: self.consumer.last_loop_at)
        self.runtime.start_worker("discovery-worker", self.worker.run, lambda: self.worker.last_loop_at)
        self.runtime.start_worker("outbox-relay", self.relay.run, lambda: self.relay.last_loop_at)

    def stop(self) -> None:
        self.runtime.shutdown()
        for connector in self.connectors.values():
            connector.close()


def bootstrap(settings: DiscoverySettings) -> Discovery:
    datamap = load_datamap(settings.datamap_path)
    runtime = ServiceRuntime(settings, "discovery", SCHEMA)
    keystore = KeyStore(make_engine(settings.keystore_url), settings.master_key_bytes(), settings.active_master_key)
    sealer = Sealer(keystore)
    outbox = Outbox(orm.outbox, runtime.codec)
    connectors = {store.name: open_connector(datamap, store, os.environ) for store in datamap.stores}
    relay = runtime.outbox_relay(orm.outbox)
    reports = ReportPublisher(runtime.engine, sealer, datamap, timedelta(hours=settings.report_ttl_hours),
                              letterhead(settings))  # fmt: skip
    worker = DiscoveryWorker(runtime.engine, outbox, runtime.topics, sealer, datamap, connectors, reports, settings,
                             relay.wakeup)  # fmt: skip
    handlers = DiscoveryHandlers(outbox, runtime.topics, datamap)

    def wake() -> None:
        relay.wakeup.set()
        worker.wakeup.set()

    consumer = runtime.consumer(settings.consumer_group, SUBSCRIBED, orm.inbox, handlers.routes,
                                after_commit=wake)  # fmt: skip
    return Discovery(runtime, datamap, connectors, consumer, worker, relay, reports)


def letterhead(settings: DiscoverySettings) -> Letterhead:
    """The business identity settings, as the access report's letter signs with them."""
    return Letterhead(settings.business_name, settings.business_contact_email, settings.business_contact_phone,
                      settings.business_postal_address, settings.privacy_center_url)  # fmt: skip
