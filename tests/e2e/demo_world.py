"""The e2e world of discovery and deletion: the demo company on real stores, both provider servers and a pipeline,
plus what tests do with it (submit, wait, download, publish a request the way intake does)."""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from devtools.demo import company
from devtools.demo.generator import DATAMAP_PATH, DemoTarget, demo_env, generate_company
from devtools.local.pipeline import Pipeline, smtp_env
from devtools.local.process import ProviderProcess
from devtools.localstack import DatabaseServer
from devtools.localstack.ports import free_port
from services.common.crypto import KeyStore, Sealer
from services.common.events import utcnow
from services.common.kafka import EventProducer, event_message
from services.common.serde import SingleObjectCodec
from services.common.topics import REQUESTS, TopicNames
from tests.conftest import fresh_pipeline_config
from tests.fields import event_of
from tests.support import wait_for

SUBJECTS = 40  # subjects 0, 10, 20, 30 are in every store
GHOSTS = 5  # verifiable customers (in the identity source) who are in no store of the data map
STORES = ("app-db", "marketing-db", "sessions", "web-logs", "mailer", "shipper")
# Every service runs on a pool of one connection to its own database: a step that takes a second connection while
# holding one then waits for itself and times out, where a larger pool would hide it until enough steps ran at once
# (the deletion worker's 32 concurrent answers once deadlocked a pool of 10 + 10 that way).
ONE_CONNECTION = {"CCPA_DATABASE_POOL_SIZE": "1", "CCPA_DATABASE_MAX_OVERFLOW": "0", "CCPA_DATABASE_POOL_TIMEOUT": "20"}


@dataclasses.dataclass
class World:
    pipeline: Pipeline
    target: DemoTarget
    providers: dict[str, ProviderProcess]
    customers: list[company.Customer]

    def get(self, request_id: str) -> dict[str, Any]:
        response = httpx.get(f"{self.pipeline.intake.url}/v1/requests/{request_id}", headers=self.pipeline.auth)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def timeline(self, request_id: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.pipeline.audit.url}/v1/requests/{request_id}/timeline",
                             headers=self.pipeline.auth)  # fmt: skip
        entries: list[dict[str, Any]] = response.json()["entries"] if response.status_code == 200 else []
        return entries


@contextmanager
def demo_world(kafka_bootstrap: str, postgres_server: DatabaseServer, redis_url: str, root: Path, redis_db: int,
               with_deletion: bool = False, with_optout: bool = False,
               smtp_port: int | None = None, with_console: bool = False,
               extra_env: dict[str, str] | None = None,
               service_env: dict[str, dict[str, str]] | None = None,
               all_in_one: bool = False) -> Iterator[World]:  # fmt: skip
    """The demo company (app database on PostgreSQL) with both providers, and the pipeline with discovery (sending
    consumer e-mail to the mail server on `smtp_port`, if given; with the operator console if asked; `extra_env`
    overrides the services' settings, `service_env` one process's)."""
    suffix = uuid.uuid4().hex[:8]
    app_db = postgres_server.create_database(f"demo_app_{suffix}")
    discovery_db = postgres_server.create_database(f"discovery_{suffix}")
    deletion_db = postgres_server.create_database(f"deletion_{suffix}") if with_deletion else None
    console_db = postgres_server.create_database(f"console_{suffix}") if with_console else None
    ports = {"mailer": free_port(), "shipper": free_port()}
    target = dataclasses.replace(
        DemoTarget.in_directory(
            root / "demo", redis_url=f"{redis_url.rsplit('/', 1)[0]}/{redis_db}", app_db_url=app_db
        ),
        mailer_url=f"http://127.0.0.1:{ports['mailer']}",
        shipper_url=f"http://127.0.0.1:{ports['shipper']}",
    )
    generate_company(target, SUBJECTS, force=True)
    identity = company.seed(root / "identity.db", count=SUBJECTS + GHOSTS)
    env = demo_env(target)
    providers = {name: ProviderProcess(name, {**env}, port, target.provider_data(name), root / "logs")
                 for name, port in ports.items()}  # fmt: skip
    for provider in providers.values():
        provider.start()
    with fresh_pipeline_config(kafka_bootstrap, postgres_server, identity, root / "logs", with_optout) as config:
        config = dataclasses.replace(
            config, discovery_db_url=discovery_db, deletion_db_url=deletion_db, datamap_path=DATAMAP_PATH,
            console_db_url=console_db, service_env=service_env or {}, all_in_one=all_in_one,
            extra_env={**env, "CCPA_RETRY_INITIAL_SECONDS": "0.5", "CCPA_RETRY_MAX_SECONDS": "2",
                       "CCPA_PROVIDER_GRACE_SECONDS": "20", "CCPA_RECHECK_CORRECTIONS_SECONDS": "1",
                       # confirmations come by the providers' signed callbacks; a poll would only come later
                       "CCPA_PROVIDER_POLL_FIRST_SECONDS": "300", **ONE_CONNECTION,
                       "CCPA_APPLICANT_SOURCE_URL": target.app_db_url,  # the job applicants' own records
                       **(smtp_env(smtp_port) if smtp_port else {}), **(extra_env or {})},
        )  # fmt: skip
        pipeline = Pipeline(config).start()
        try:
            yield World(pipeline, target, providers, company.generate(SUBJECTS + GHOSTS))
        finally:
            pipeline.stop()
            for provider in providers.values():
                provider.stop()
            postgres_server.drop_database(f"discovery_{suffix}")
            if deletion_db:
                postgres_server.drop_database(f"deletion_{suffix}")
            if console_db:
                postgres_server.drop_database(f"console_{suffix}")
            postgres_server.drop_database(f"demo_app_{suffix}")


def submit(world: World, customer: company.Customer, request_type: str = "know_specific", **extra: Any) -> str:
    body = {
        "type": request_type,
        "channel": "web_form",
        "identifiers": {"email": customer.email},
        "verification": {
            "data_points": {"name": customer.full_name, "postal_code": customer.postal_code,
                            "date_of_birth": customer.date_of_birth},
            "signed_declaration": True,
        },
        **extra,
    }  # fmt: skip
    response = httpx.post(f"{world.pipeline.intake.url}/v1/requests", json=body)
    assert response.status_code == 202, response.text
    request_id: str = response.json()["request_id"]
    return request_id


def completed(world: World, request_id: str, timeout: float = 60.0) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        status = world.get(request_id)
        return status if status["status"] == "completed" and status.get("report") else None

    return wait_for(ready, timeout=timeout, what=f"report of {request_id}")


def download(link: str) -> httpx.Response:
    response = httpx.get(link, timeout=30)
    assert response.status_code == 200, response.text
    return response


def withheld_values(world: World, account_id: str) -> list[str]:
    """The subject's §7024(d) values, read straight from the app database."""
    engine = sa.create_engine(world.target.app_db_url)
    queries = {
        "payment_methods": ("card_number",),
        "identity_checks": ("ssn", "id_number"),
        "account_logins": ("password_hash",),
    }
    values: list[str] = []
    with engine.connect() as conn:
        for table, columns in queries.items():
            reflected = sa.Table(table, sa.MetaData(), autoload_with=conn)
            rows = conn.execute(sa.select(*(reflected.c[c] for c in columns))
                                .where(reflected.c.account_id == account_id)).all()  # fmt: skip
            values += [str(value) for row in rows for value in row if value]
    engine.dispose()
    return values


def keystore_of(world: World) -> KeyStore:
    """The pipeline's key store, opened with its master keys, as the key-holding services open it."""
    pipeline = world.pipeline
    keys = json.loads(pipeline.secrets["CCPA_MASTER_KEYS"])
    master = {key_id: base64.b64decode(value) for key_id, value in keys.items()}
    engine = sa.create_engine(pipeline.config.keystore_url)
    return KeyStore(engine, master, pipeline.secrets["CCPA_ACTIVE_MASTER_KEY"])


def publish_request(world: World, request_type: str, identifiers: dict[str, str],
                    subject_key: str | None = None) -> str:  # fmt: skip
    """A verified request published straight onto privacy.requests, sealed like intake seals it."""
    config = world.pipeline.config
    keystore = keystore_of(world)
    request_id, now = str(uuid.uuid4()), utcnow()
    subject_key = subject_key or uuid.uuid4().hex * 2
    sealed = Sealer(keystore).seal(identifiers, subject_key, request_id)
    payload = {
        "request_type": request_type, "requested_type": request_type, "channel": "api", "received_at": now,
        "acknowledged_at": now, "respond_by": now + timedelta(days=45), "max_extended_respond_by": None,
        "identifier_kinds": sorted(identifiers), "identifiers": sealed.to_record(), "corrections": None,
        "verification_required": "reasonably_high", "verification_achieved": "reasonably_high",
        "verification_outcome": "verified", "authorized_agent": False, "agent_permission_verified": False,
        "gpc": False, "date_range_start": None, "date_range_end": None, "limit_categories": [],
    }  # fmt: skip
    event = event_of("RequestSubmitted", subject_key, "intake", payload, request_id=request_id)
    producer = EventProducer({"bootstrap.servers": config.bootstrap_servers}, client_id="test-injection")
    try:
        topic = TopicNames(config.topic_namespace)(REQUESTS)
        producer.send_all([event_message(topic, event, SingleObjectCodec())])
    finally:
        producer.close()

    return request_id


def event_types(world: World, request_id: str) -> list[str]:
    return [entry["event_type"] for entry in world.timeline(request_id)]


def on_timeline(world: World, request_id: str, wanted: set[str], timeout: float = 90.0) -> list[str]:
    seen: list[str] = []

    def holds() -> list[str] | None:
        seen[:] = event_types(world, request_id)
        return seen if wanted <= set(seen) else None

    try:
        return wait_for(holds, timeout=timeout, what=f"{sorted(wanted)} on the timeline of {request_id}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; it holds {seen}") from None
