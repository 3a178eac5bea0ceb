"""`ccpa serve all` end to end: every service in one process on real Kafka and PostgreSQL, each on its own port
with its own database; a know, a delete and an opt-out complete on audit's timeline; SIGTERM stops every part."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from devtools.localstack import DatabaseServer
from tests.e2e.demo_world import World, completed, demo_world, submit
from tests.support import wait_for

pytestmark = pytest.mark.e2e

PARTS = ("audit", "optout", "discovery", "deletion", "intake", "console")


@pytest.fixture(scope="module")
def world(kafka_bootstrap: str, postgres_server: DatabaseServer, redis_url: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:  # fmt: skip
    root = tmp_path_factory.mktemp("all-in-one")
    with demo_world(kafka_bootstrap, postgres_server, redis_url, root, 12, with_deletion=True, with_optout=True,
                    with_console=True, all_in_one=True) as built:  # fmt: skip
        yield built


def event_types(world: World, request_id: str) -> set[str]:
    return {entry["event_type"] for entry in world.timeline(request_id)}


def on_timeline(world: World, request_id: str, wanted: set[str], timeout: float = 90.0) -> set[str]:
    return wait_for(lambda: (seen := event_types(world, request_id)) >= wanted and seen, timeout=timeout,
                    what=f"{sorted(wanted)} on the timeline of {request_id}")  # fmt: skip


def test_one_process_serves_every_service_on_its_own_port(world: World) -> None:
    pipeline = world.pipeline
    assert pipeline.all_in_one is not None and pipeline.all_in_one.running()
    assert {part.service for part in pipeline.all_in_one.parts} == set(PARTS)
    for part in pipeline.services:
        response = httpx.get(f"{part.url}/readyz", timeout=5)
        assert response.status_code == 200, (part.service, response.text)
        assert response.json()["service"] == part.service  # each port is that service's own app
        assert not part.running()  # no process of its own was started
    assert len({part.port for part in pipeline.services}) == len(PARTS)


def test_each_service_keeps_its_own_database(world: World) -> None:
    config = world.pipeline.config
    own = {"intake": config.intake_db_url, "audit": config.audit_db_url, "optout": config.optout_db_url,
           "discovery": config.discovery_db_url, "deletion": config.deletion_db_url}  # fmt: skip
    tables = {}
    for service, url in own.items():
        engine = sa.create_engine(str(url))
        with engine.connect() as conn:
            tables[service] = set(sa.inspect(conn).get_table_names())
        engine.dispose()
    for service, names in tables.items():  # each migrated its own database, and only its own
        versions = {name for name in names if name.startswith("alembic_version_")}
        assert versions == {f"alembic_version_{service}"}, (service, versions)


def test_know_delete_and_opt_out_complete_on_audits_timeline(world: World) -> None:
    know = submit(world, world.customers[10], "know_specific")
    customer = world.customers[20]
    points = {"name": customer.full_name, "postal_code": customer.postal_code}
    delete = submit(world, customer, "delete", verification={"data_points": points})
    opt_out = submit(world, world.customers[30], "opt_out")
    assert completed(world, know, timeout=90)["report"]
    on_timeline(world, know, {"RequestSubmitted", "DiscoveryCompleted", "ReportReady", "RequestCompleted"})
    on_timeline(world, delete, {"RequestSubmitted", "StoreErased", "DeletionVerified", "RequestCompleted"}, 120)
    on_timeline(world, opt_out, {"RequestSubmitted", "OptOutApplied"})


def test_sigterm_stops_every_part(world: World) -> None:
    process = world.pipeline.all_in_one
    assert process is not None
    process.stop(timeout=60)
    assert process.returncode() == 0, process.log_tail()
    for part in world.pipeline.services:
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{part.url}/healthz", timeout=2)
    log = Path(process.log_file).read_text()
    assert log.count('"message": "Finished server process') == len(PARTS), process.log_tail()
