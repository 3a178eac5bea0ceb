"""Composition root of intake: real adapters (DB, key store, Kafka, identity source) wired once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from services.common.consumer import ConsumerRunner
from services.common.crypto import KeyStore, Sealer
from services.common.db import make_engine
from services.common.outbox import Outbox, OutboxRelay
from services.common.request_types import RequestType
from services.common.runtime import ServiceRuntime
from services.intake import orm
from services.intake.consent import ConsentLookupService
from services.intake.handlers import IntakeService
from services.intake.migrations import SCHEMA
from services.intake.reports import ReportDownloads, ReportLinks
from services.intake.results import SUBSCRIBED, ResultHandlers
from services.intake.revocation import KeySweep, SubjectKeys
from services.intake.settings import IntakeSettings
from services.intake.status_links import StatusLinks
from services.intake.verification import (
    IdentitySource,
    SqlIdentitySource,
    StaticIdentitySource,
    VerificationLevel,
    Verifier,
)

log = logging.getLogger(__name__)


@dataclass
class Intake:
    runtime: ServiceRuntime
    service: IntakeService
    relay: OutboxRelay
    consent: ConsentLookupService
    results: ConsumerRunner
    downloads: ReportDownloads
    sweep: KeySweep

    def start(self) -> None:
        self.runtime.prepare()
        self.runtime.start_worker("outbox-relay", self.relay.run, lambda: self.relay.last_loop_at)
        self.runtime.start_worker("results-consumer", self.results.run, lambda: self.results.last_loop_at)
        self.runtime.start_worker("key-sweep", self.sweep.run, lambda: self.sweep.last_loop_at)

    def stop(self) -> None:
        self.runtime.shutdown()
        self.consent.close()
        self.downloads.close()


def bootstrap(settings: IntakeSettings) -> Intake:
    runtime = ServiceRuntime(settings, "intake", SCHEMA)
    keystore = KeyStore(make_engine(settings.keystore_url), settings.master_key_bytes(), settings.active_master_key)
    overrides = {RequestType(k): VerificationLevel(v) for k, v in settings.verification_overrides.items()}
    service = IntakeService(
        engine=runtime.engine,
        outbox=Outbox(orm.outbox, runtime.codec),
        sealer=Sealer(keystore),
        verifier=Verifier(identity_source(settings), overrides),
        subject_secret=settings.subject_key_bytes(),
        topics=runtime.topics,
        status_links=StatusLinks(
            settings.subject_key_bytes(), settings.public_base_url, timedelta(days=settings.status_link_days)
        ),
    )
    token = settings.service_token.get_secret_value()
    consent = ConsentLookupService(service, settings.optout_url, token)
    relay = runtime.outbox_relay(orm.outbox)
    subject_keys = SubjectKeys(keystore, service.outbox, runtime.topics)
    answers = ResultHandlers(subject_keys)
    results = runtime.consumer(settings.consumer_group, SUBSCRIBED, orm.inbox, answers.routes)
    links = ReportLinks(settings.subject_key_bytes(), settings.public_base_url)
    downloads = ReportDownloads(runtime.engine, service.outbox, runtime.topics, links, settings.discovery_url, token)
    sweep = KeySweep(subject_keys, runtime.engine, settings.key_sweep_seconds)
    return Intake(runtime, service, relay, consent, results, downloads, sweep)


def identity_source(settings: IntakeSettings) -> IdentitySource:
    if settings.identity_source_url is None:
        log.warning("no identity source configured: know, delete and correct requests cannot be verified")
        return StaticIdentitySource([])
    return SqlIdentitySource(
        settings.identity_source_url, settings.identity_source_table, settings.identity_source_columns
    )
