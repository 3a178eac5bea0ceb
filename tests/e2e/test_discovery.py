"""Right to know, end to end: HTTP submit → Kafka → discovery over the real demo stores (PostgreSQL, SQLite, Redis,
log files, two provider servers) → report → expiring link → download on the timeline."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from devtools.localstack import DatabaseServer
from services.common.topics import ALL_TOPICS, TopicNames
from tests.e2e.demo_world import (
    STORES,
    SUBJECTS,
    World,
    completed,
    demo_world,
    download,
    publish_request,
    submit,
    withheld_values,
)
from tests.support import read_topic, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(kafka_bootstrap: str, postgres_server: DatabaseServer, redis_url: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:  # fmt: skip
    with demo_world(kafka_bootstrap, postgres_server, redis_url, tmp_path_factory.mktemp("discovery"), 9) as built:
        yield built


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
    request_id = publish_request(world, "know_specific", INJECTIONS)

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
