"""Right to know, end to end: HTTP submit → Kafka → discovery over the real demo stores (PostgreSQL, SQLite, Redis,
log files, two provider servers) → report → expiring link → download on the timeline."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from services.common.crypto import KeyStore, Sealer
from services.common.events import Event, utcnow
from services.common.kafka import EventProducer, event_message
from services.common.localstack import DatabaseServer
from services.common.localstack.ports import free_port
from services.common.serde import SingleObjectCodec
from services.common.topics import ALL_TOPICS, REQUESTS, TopicNames
from services.demo import company
from services.demo.generator import DATAMAP_PATH, DemoTarget, demo_env, generate_company
from services.local.pipeline import Pipeline
from services.local.process import ProviderProcess
from tests.conftest import fresh_pipeline_config
from tests.support import read_topic, wait_for

pytestmark = pytest.mark.e2e

SUBJECTS = 40  # subjects 0, 10, 20, 30 are in every store
GHOSTS = 5  # verifiable customers (in the identity source) who are in no store of the data map
STORES = ("app-db", "marketing-db", "sessions", "web-logs", "mailer", "shipper")


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


@pytest.fixture(scope="module")
def world(kafka_bootstrap: str, postgres_server: DatabaseServer, redis_url: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:  # fmt: skip
    root = tmp_path_factory.mktemp("discovery-world")
    suffix = uuid.uuid4().hex[:8]
    app_db = postgres_server.create_database(f"demo_app_{suffix}")
    discovery_db = postgres_server.create_database(f"discovery_{suffix}")
    ports = {"mailer": free_port(), "shipper": free_port()}
    target = dataclasses.replace(
        DemoTarget.in_directory(root / "demo", redis_url=f"{redis_url.rsplit('/', 1)[0]}/9", app_db_url=app_db),
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
    with fresh_pipeline_config(kafka_bootstrap, postgres_server, identity, root / "logs") as config:
        config = dataclasses.replace(
            config, discovery_db_url=discovery_db, datamap_path=DATAMAP_PATH,
            extra_env={**env, "CCPA_RETRY_INITIAL_SECONDS": "0.5", "CCPA_RETRY_MAX_SECONDS": "2"},
        )  # fmt: skip
        pipeline = Pipeline(config).start()
        try:
            yield World(pipeline, target, providers, company.generate(SUBJECTS + GHOSTS))
        finally:
            pipeline.stop()
            for provider in providers.values():
                provider.stop()
            postgres_server.drop_database(f"discovery_{suffix}")
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


def test_know_specific_for_a_subject_in_every_store(world: World) -> None:
    subject = world.customers[0]
    request_id = submit(world, subject, date_range={"start": "2022-01-01"})
    status = completed(world, request_id)
    assert status["response"]["by"] == "discovery" and status["response"]["outcome"] == "complied"
    links = status["report"]["links"]
    assert set(links) == {"json", "csv", "html"}

    report = download(links["json"]).json()
    searched = {entry["store"]: entry for entry in report["searched"]}
    assert set(searched) == set(STORES)
    assert all(entry["status"] == "found" and entry["records"] > 0 for entry in searched.values()), searched
    pieces_by_store = {store["store"] for store in report["specific_pieces"]}
    assert pieces_by_store == set(STORES)
    assert {c["code"] for c in report["categories"]} >= {"A", "B", "D", "F", "G", "L"}
    assert {w["kind"] for w in report["withheld"]} >= {"financial_account", "ssn", "password"}
    assert report["period"]["start"] == "2022-01-01"

    secrets = withheld_values(world, subject.account_id)
    assert secrets, "subject 0 must hold withheld fields for this test to mean anything"
    archive = zipfile.ZipFile(io.BytesIO(download(links["csv"]).content))
    assert {f"stores/{store}.csv" for store in STORES} <= set(archive.namelist())
    texts = {
        "json": json.dumps(report),
        "csv": "".join(archive.read(name).decode() for name in archive.namelist()),
        "html": download(links["html"]).text,
    }
    for fmt, text in texts.items():
        assert subject.email in text, fmt  # the specific pieces are there...
        for secret in secrets:
            assert secret not in text, f"a §7024(d) value leaked into the {fmt} report"  # ...the withheld are not

    def downloads_recorded() -> list[str] | None:
        kinds = [entry["event_type"] for entry in world.timeline(request_id)]
        return kinds if kinds.count("ReportDownloaded") >= 3 else None

    kinds = wait_for(downloads_recorded, what="downloads on the timeline")
    for expected in ("RequestSubmitted", "DiscoveryStarted", "DiscoveryCompleted", "ReportReady", "RequestCompleted"):
        assert expected in kinds
    assert kinds.count("StoreSearched") == len(STORES)
    assert kinds.index("DiscoveryStarted") < kinds.index("StoreSearched") < kinds.index("ReportReady")


def test_link_is_bound_to_its_request(world: World) -> None:
    first = completed(world, submit(world, world.customers[1], "know_categories"))
    second = completed(world, submit(world, world.customers[2], "know_categories"))
    tampered = first["report"]["links"]["json"].replace(first["request_id"], second["request_id"])
    assert httpx.get(tampered).status_code == 403
    report = download(first["report"]["links"]["json"]).json()
    assert report["request_type"] == "know_categories"
    assert "specific_pieces" not in report and report["categories"]


def test_subject_present_nowhere_gets_a_correct_empty_report(world: World) -> None:
    ghost = world.customers[SUBJECTS + 2]
    status = completed(world, submit(world, ghost))
    assert status["report"]["records"] == 0
    report = download(status["report"]["links"]["json"]).json()
    assert {entry["status"] for entry in report["searched"]} == {"none"}
    assert report["categories"] == [] and report["specific_pieces"] == []


def test_store_down_makes_the_request_wait_and_complete_after_recovery(world: World) -> None:
    mailer = world.providers["mailer"]
    mailer.stop()
    try:
        request_id = submit(world, world.customers[10], "know_categories")

        def unavailable() -> dict[str, Any] | None:
            entries = world.timeline(request_id)
            return next((e for e in entries if e["event_type"] == "StoreSearched" and e["details"]["store"] == "mailer"
                         and e["details"]["outcome"] == "unavailable"), None)  # fmt: skip

        entry = wait_for(unavailable, timeout=60, what="mailer reported unavailable")
        assert entry["details"]["reason"] and entry["details"]["retry_at"]
        assert world.get(request_id)["status"] != "completed"
        assert "ReportReady" not in [e["event_type"] for e in world.timeline(request_id)]
    finally:
        mailer.start()
    status = completed(world, request_id, timeout=60)
    report = download(status["report"]["links"]["json"]).json()
    assert {entry["store"]: entry["status"] for entry in report["searched"]}["mailer"] == "found"


def test_no_identifier_of_a_discovered_subject_in_topics_logs_or_discovery_tables(world: World) -> None:
    """Runs after the others: discovery handled subject 0 (found everywhere) and more; none of it is in clear."""
    subject = world.customers[0]
    needles = [subject.email, subject.phone, subject.full_name, subject.account_id, subject.phone.removeprefix("+1")]
    config = world.pipeline.config
    topics = TopicNames(config.topic_namespace)
    for spec in ALL_TOPICS:
        for message in read_topic(config.bootstrap_servers, topics(spec)):
            raw = (message.value() or b"") + (message.key() or b"")
            assert not [n for n in needles if n.encode() in raw], f"identifier in clear on {topics(spec)}"
    for log in config.log_dir.glob("*.log"):
        text = log.read_text(errors="replace")
        assert not [n for n in needles if n in text], f"identifier in clear in {log.name}"
    engine = sa.create_engine(str(config.discovery_db_url))
    with engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            rows = conn.execute(sa.text(f'SELECT * FROM "{table}"')).all()  # table names from the catalogue
            dumped = repr(rows)
            assert not [n for n in needles if n in dumped], f"identifier in clear in discovery table {table}"
    engine.dispose()


INJECTIONS = {
    "email": "x' or '1'='1@example.com",
    "account_id": "acct-0000000' OR '1'='1' --",
    "device_id": "1; DROP TABLE customers; --",
}


def test_identifiers_shaped_like_sql_injection_are_harmless(world: World) -> None:
    """Published the way intake publishes a verified request, so discovery walks every store with them."""
    pipeline, config = world.pipeline, world.pipeline.config
    keys = json.loads(pipeline.secrets["CCPA_MASTER_KEYS"])
    master = {key_id: base64.b64decode(value) for key_id, value in keys.items()}
    keystore = KeyStore(sa.create_engine(config.keystore_url), master, pipeline.secrets["CCPA_ACTIVE_MASTER_KEY"])
    request_id, subject_key, now = str(uuid.uuid4()), uuid.uuid4().hex * 2, utcnow()
    sealed = Sealer(keystore).seal(INJECTIONS, subject_key, request_id)
    payload = {
        "request_type": "know_specific", "requested_type": "know_specific", "channel": "api", "received_at": now,
        "acknowledged_at": now, "respond_by": now + timedelta(days=45), "max_extended_respond_by": None,
        "identifier_kinds": sorted(INJECTIONS), "identifiers": sealed.to_record(), "corrections": None,
        "verification_required": "reasonably_high", "verification_achieved": "reasonably_high",
        "verification_outcome": "verified", "authorized_agent": False, "agent_permission_verified": False,
        "gpc": False, "date_range_start": None, "date_range_end": None, "limit_categories": [],
    }  # fmt: skip
    event = Event("RequestSubmitted", subject_key, "intake", payload, request_id=request_id)
    producer = EventProducer({"bootstrap.servers": config.bootstrap_servers}, client_id="test-injection")
    try:
        topic = TopicNames(config.topic_namespace)(REQUESTS)
        producer.send_all([event_message(topic, event, SingleObjectCodec())])
    finally:
        producer.close()

    def report_ready() -> list[str] | None:
        kinds = [entry["event_type"] for entry in world.timeline(request_id)]
        return kinds if "ReportReady" in kinds else None

    kinds = wait_for(report_ready, timeout=60, what="the injected request's report")
    searched = [e["details"] for e in world.timeline(request_id) if e["event_type"] == "StoreSearched"]
    assert kinds.count("StoreSearched") == len(STORES)
    assert {details["outcome"] for details in searched} == {"none"}, searched
    engine = sa.create_engine(world.target.app_db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM customers")).scalar_one() == SUBJECTS
    engine.dispose()
