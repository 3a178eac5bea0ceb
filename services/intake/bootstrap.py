"""Composition root of intake: real adapters (DB, key store, Kafka, identity source) wired once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.common.consumer import ConsumerRunner
from services.common.crypto import KeyStore, Sealer
from services.common.db import make_engine
from services.common.outbox import Outbox, OutboxRelay
from services.common.request_types import RequestType
from services.common.roles import Role
from services.common.runtime import ServiceRuntime
from services.common.subject_types import SubjectType
from services.intake import orm
from services.intake.business import Business
from services.intake.consent import ConsentLookupService
from services.intake.handlers import IntakeService
from services.intake.mail.delivery import RetryPolicy
from services.intake.mail.smtp import SmtpMailer
from services.intake.mail.worker import NoticeWorker
from services.intake.migrations import SCHEMA
from services.intake.notices import NoticeQueue
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
    notices: NoticeWorker | None = None  # None: CCPA_SMTP_HOST unset, no consumer e-mail
    # Loops the app's parts add before it starts (the tag gate's evidence flush): name, run, last loop.
    background: list[tuple[str, Callable[[threading.Event], None], Callable[[], datetime]]] = field(
        default_factory=list
    )

    def start(self) -> None:
        self.runtime.prepare()
        self.runtime.start_worker("outbox-relay", self.relay.run, lambda: self.relay.last_loop_at)
        self.runtime.start_worker("results-consumer", self.results.run, lambda: self.results.last_loop_at)
        self.runtime.start_worker("key-sweep", self.sweep.run, lambda: self.sweep.last_loop_at)
        if (notices := self.notices) is not None:
            self.runtime.start_worker("notice-worker", notices.run, lambda: notices.last_loop_at)
        for name, run, last_loop_at in self.background:
            # The API's own buffers (the tag gate's evidence): flushed where the API runs, an http replica too.
            self.runtime.start_worker(name, run, last_loop_at, side=Role.HTTP)

    def stop(self) -> None:
        self.runtime.shutdown()
        self.consent.close()
        self.downloads.close()


def bootstrap(settings: IntakeSettings) -> Intake:
    runtime = ServiceRuntime(settings, "intake", SCHEMA)
    keystore = KeyStore(make_engine(settings.keystore_url), settings.master_key_bytes(), settings.active_master_key)
    overrides = {RequestType(k): VerificationLevel(v) for k, v in settings.verification_overrides.items()}
    sealer = Sealer(keystore)
    status_links = StatusLinks(
        settings.subject_key_bytes(), settings.public_base_url, timedelta(days=settings.status_link_days)
    )
    queue = NoticeQueue(runtime.engine, sealer, settings.subject_key_bytes(), status_links) if settings.smtp() else None
    service = IntakeService(
        engine=runtime.engine,
        outbox=Outbox(orm.outbox, runtime.codec),
        sealer=sealer,
        verifier=Verifier(identity_source(settings), overrides, other_identity_sources(settings)),
        subject_secret=settings.subject_key_bytes(),
        topics=runtime.topics,
        status_links=status_links,
        notices=queue,
        review_types=settings.review_types(),
    )
    token = settings.service_token.get_secret_value()
    consent = ConsentLookupService(service, settings.optout_url, token)
    relay = runtime.outbox_relay(orm.outbox)
    subject_keys = SubjectKeys(keystore, service.outbox, runtime.topics)
    answers = ResultHandlers(subject_keys, queue)
    results = runtime.consumer(settings.consumer_group, SUBSCRIBED, orm.inbox, answers.routes,
                               after_commit=queue.wake if queue else None)  # fmt: skip
    links = ReportLinks(settings.subject_key_bytes(), settings.public_base_url)
    downloads = ReportDownloads(runtime.engine, service.outbox, runtime.topics, links, settings.discovery_url, token)
    sweep = KeySweep(subject_keys, runtime.engine, settings.key_sweep_seconds)
    notices = notice_worker(settings, queue, service.outbox, runtime, subject_keys) if queue else None
    return Intake(runtime, service, relay, consent, results, downloads, sweep, notices)


def notice_worker(settings: IntakeSettings, queue: NoticeQueue, outbox: Outbox, runtime: ServiceRuntime,
                  keys: SubjectKeys) -> NoticeWorker | None:  # fmt: skip
    """The worker sending the queued consumer e-mails, when a mail server is configured."""
    config = settings.smtp()
    if config is None:
        return None
    business = Business.of(settings)
    policy = RetryPolicy(settings.notice_retry_initial_seconds, settings.notice_retry_max_seconds,
                         settings.notice_max_attempts)  # fmt: skip
    return NoticeWorker(queue, SmtpMailer(config), business, outbox, runtime.topics, policy, keys)


def identity_source(settings: IntakeSettings) -> IdentitySource:
    if settings.identity_source_url is None:
        log.warning("no identity source configured: know, delete and correct requests cannot be verified")
        return StaticIdentitySource([])
    return SqlIdentitySource(
        settings.identity_source_url, settings.identity_source_table, settings.identity_source_columns
    )


def other_identity_sources(settings: IntakeSettings) -> dict[SubjectType, IdentitySource]:
    """The records of subject types other than consumers: job applicants from the applicant-tracking system."""
    if settings.applicant_source_url is None:
        return {}
    source = SqlIdentitySource(
        settings.applicant_source_url, settings.applicant_source_table, settings.applicant_source_columns
    )
    return {SubjectType.JOB_APPLICANT: source}
