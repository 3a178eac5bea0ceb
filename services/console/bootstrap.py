"""Composition root of the console: its runtime (database, broker), accounts, sessions, the record of what people
do (OperatorActed through the outbox and its relay) and the clients of the services it calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.common.outbox import Outbox, OutboxRelay
from services.common.runtime import ServiceRuntime
from services.common.topics import OPERATOR_ACTIONS
from services.console import orm
from services.console.accounts.sessions import SessionPolicy, Sessions
from services.console.accounts.store import Accounts
from services.console.actions import Accountability
from services.console.clients.services import Services
from services.console.migrations import SCHEMA
from services.console.settings import ConsoleSettings


@dataclass
class Console:
    runtime: ServiceRuntime
    settings: ConsoleSettings
    accounts: Accounts
    sessions: Sessions
    record: Accountability
    relay: OutboxRelay
    services: Services

    def start(self) -> None:
        self.runtime.prepare()
        self.runtime.start_worker("outbox-relay", self.relay.run, lambda: self.relay.last_loop_at)

    def stop(self) -> None:
        self.runtime.shutdown()
        self.services.close()


def bootstrap(settings: ConsoleSettings) -> Console:
    runtime = ServiceRuntime(settings, "console", SCHEMA)
    relay = runtime.outbox_relay(orm.outbox)
    policy = SessionPolicy(timedelta(hours=settings.session_hours), timedelta(minutes=settings.idle_minutes))
    record = Accountability(runtime.engine, Outbox(orm.outbox, runtime.codec), runtime.topics(OPERATOR_ACTIONS),
                            wakeup=relay.wakeup)  # fmt: skip
    return Console(runtime, settings, Accounts(runtime.engine), Sessions(runtime.engine, policy), record, relay,
                   Services.of(settings))  # fmt: skip
