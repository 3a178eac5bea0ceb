"""The erasure engine on the demo company (app database in PostgreSQL): the subject is gone but for its retained
records.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from devtools.demo.generator import DemoTarget, generate_company, load_demo_datamap
from devtools.demo.subjects import iter_subjects
from services.common.datamap import DataMap
from services.common.stores import WalkResult, open_connector, walk
from services.deletion.erasure import ErasureEngine, plan_erasure
from tests.erasure_world import KEYS

pytestmark = pytest.mark.integration


DEMO_STORES = ("app-db", "marketing-db", "sessions", "web-logs")


@pytest.fixture
def demo_target(pg_url: str, redis_url: str, tmp_path: Path) -> Iterator[DemoTarget]:
    """The demo company (app database in PostgreSQL) with its own Redis database, emptied afterwards."""
    target = DemoTarget.in_directory(tmp_path / "demo", redis_url.rsplit("/", 1)[0] + "/13", app_db_url=pg_url)
    generate_company(target, 20, seed=7, parallel=False, force=True)
    yield target
    client = redis.Redis.from_url(target.redis_url)
    for pattern in ("session:*", "device:*"):
        for key in client.scan_iter(match=pattern):
            client.delete(key)
    client.close()


def demo_walk(datamap: DataMap, seeds: dict[str, frozenset[str]]) -> WalkResult:
    connectors = {name: open_connector(datamap, store) for name in DEMO_STORES if (store := datamap.store(name))}
    try:
        return walk(datamap, connectors, seeds)
    finally:
        for connector in connectors.values():
            connector.close()


def test_the_demo_subject_is_gone_but_for_its_retained_records(demo_target: DemoTarget) -> None:
    datamap = load_demo_datamap(demo_target)
    subject = next(iter_subjects(1, seed=7))
    found = demo_walk(datamap, {"email": frozenset({subject.email}), "account_id": frozenset({subject.account_id})})
    assert found.complete and all(found.records[name] for name in DEMO_STORES)
    engine = ErasureEngine(datamap, KEYS.deidentify)
    try:
        outcome = engine.erase(plan_erasure(datamap, found.identifiers, stores=DEMO_STORES))
    finally:
        engine.close()
    assert outcome.complete, outcome.failures
    retained = {(store.store, name): actions.get("retained", 0)
                for store in outcome.stores for name, actions in store.counts.items()}  # fmt: skip
    assert retained[("app-db", "orders")] and retained[("web-logs", "access")]
    assert outcome.store("app-db").counts["customers"] == {"deleted": 1}  # type: ignore[union-attr]
    assert outcome.store("app-db").counts["analytics_events"].keys() == {"deidentified"}  # type: ignore[union-attr]
    again = demo_walk(datamap, found.identifiers)  # every value the first walk reached, not only the seeds
    left = {(name, record.collection) for name, records in again.records.items() for record in records}
    assert {key: count for key, count in retained.items() if count} == {
        key: sum(1 for name, records in again.records.items() for r in records if (name, r.collection) == key)
        for key in left}  # fmt: skip
    checks = [record for record in again.records["app-db"] if record.collection == "identity_checks"]
    assert all(record.values["ssn"] is None and record.values["id_number"] is None for record in checks)
