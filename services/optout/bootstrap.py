"""Composition root of the opt-out service: consumer over requests, consent changes and acks; relay; overdue watch;
the data map's systems of record."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.consumer import ConsumerRunner
from services.common.crypto import KeyStore, Sealer
from services.common.datamap import load_datamap
from services.common.db import make_engine
from services.common.outbox import Outbox, OutboxRelay
from services.common.runtime import ServiceRuntime
from services.optout import orm
from services.optout.handlers import SUBSCRIBED, OptoutHandlers
from services.optout.migrations import SCHEMA
from services.optout.overdue import OverdueWatch
from services.optout.settings import OptoutSettings
from services.optout.systems import SystemsOfRecord


@dataclass
class Optout:
    runtime: ServiceRuntime
    consumer: ConsumerRunner
    relay: OutboxRelay
    overdue: OverdueWatch
    systems: SystemsOfRecord

    def start(self) -> None:
        self.runtime.prepare()
        self.runtime.start_worker("consent-consumer", self.consumer.run, lambda: self.consumer.last_loop_at)
        self.runtime.start_worker("outbox-relay", self.relay.run, lambda: self.relay.last_loop_at)
        self.runtime.start_worker(
            "overdue-watch", self.overdue.run, lambda: self.overdue.last_loop_at, self.overdue.stale_after
        )

    def stop(self) -> None:
        self.runtime.shutdown()
        self.systems.dispose()


def bootstrap(settings: OptoutSettings) -> Optout:
    runtime = ServiceRuntime(settings, "optout", SCHEMA)
    topics = runtime.topics
    outbox = Outbox(orm.outbox, runtime.codec)
    keystore = KeyStore(make_engine(settings.keystore_url), settings.master_key_bytes(), settings.active_master_key)
    systems = SystemsOfRecord(load_datamap(settings.datamap_path))
    relay = runtime.outbox_relay(orm.outbox)
    handlers = OptoutHandlers(outbox, topics, Sealer(keystore), systems, settings.downstream_systems,
                              settings.ack_sla_seconds)  # fmt: skip
    consumer = runtime.consumer(settings.consumer_group, SUBSCRIBED, orm.inbox,
                                handlers.routes, after_commit=relay.wakeup.set)  # fmt: skip
    overdue = OverdueWatch(runtime.engine, outbox, topics, relay.wakeup, settings.overdue_check_seconds)
    return Optout(runtime, consumer, relay, overdue, systems)
