"""Composition root of the console: its runtime (database, broker), accounts, sessions, the record of what people
do (OperatorActed through the outbox and its relay) and the clients of the services it calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.common.metrics import DLQ_MESSAGES
from services.common.outbox import Outbox, OutboxRelay
from services.common.runtime import ServiceRuntime
from services.common.topics import DLQ, OPERATOR_ACTIONS
from services.console import orm
from services.console.accounts.lockout import LockoutPolicy
from services.console.accounts.oidc import Client, SingleSignOn
from services.console.accounts.sessions import SessionPolicy, Sessions
from services.console.accounts.signin import SignIn
from services.console.accounts.store import Accounts
from services.console.actions import Accountability
from services.console.clients.services import Services
from services.console.dlq import DeadLetterCount
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
    dead_letters: DeadLetterCount
    signin: SignIn
    sso: SingleSignOn | None = None  # single sign-on, when CCPA_CONSOLE_OIDC_ISSUER is set

    def start(self) -> None:
        self.runtime.prepare()
        self.runtime.start_worker("outbox-relay", self.relay.run, lambda: self.relay.last_loop_at)

    def stop(self) -> None:
        self.runtime.shutdown()
        self.services.close()
        self.dead_letters.close()


def bootstrap(settings: ConsoleSettings) -> Console:
    runtime = ServiceRuntime(settings, "console", SCHEMA)
    relay = runtime.outbox_relay(orm.outbox)
    policy = SessionPolicy(timedelta(hours=settings.session_hours), timedelta(minutes=settings.idle_minutes))
    record = Accountability(runtime.engine, Outbox(orm.outbox, runtime.codec), runtime.topics(OPERATOR_ACTIONS),
                            wakeup=relay.wakeup)  # fmt: skip
    lockout = LockoutPolicy(settings.lockout_failures, timedelta(minutes=settings.lockout_minutes))
    dead_letters = DeadLetterCount(settings.kafka_config(), runtime.topics(DLQ))
    DLQ_MESSAGES.set_function(dead_letters.gauge_value)
    return Console(runtime, settings, Accounts(runtime.engine), Sessions(runtime.engine, policy), record, relay,
                   Services.of(settings), dead_letters, SignIn(runtime.engine, lockout),
                   single_sign_on(settings))  # fmt: skip


def single_sign_on(settings: ConsoleSettings) -> SingleSignOn | None:
    if not (settings.oidc_issuer and settings.oidc_client_id and settings.oidc_redirect_url):
        return None
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
    return SingleSignOn(Client(settings.oidc_issuer, settings.oidc_client_id, secret, settings.oidc_redirect_url,
                               settings.call_timeout_seconds))  # fmt: skip
