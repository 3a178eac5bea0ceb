"""Log stores under many requests at once, on the demo company's real access logs (rotated and gzipped):
concurrent searches share one pass and each still gets exactly its own lines; a batch of erasures in one pass
leaves the same files and the same per-subject counts as erasing the subjects one after another.
"""

from __future__ import annotations

import gzip
import shutil
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from devtools.demo.generator import DemoCompany, DemoTarget, generate_company, load_demo_datamap
from devtools.demo.subjects import list_subjects
from services.common.datamap import DataMap
from services.common.datamap.model import Deletion, Store
from services.common.stores import open_connector, walk
from services.common.stores.base import StoreUnavailable
from services.common.stores.jsonl import JsonLinesConnector
from services.deletion.erasure import plan_erasure
from services.deletion.erasure.jsonl import JsonLinesEraser
from services.deletion.erasure.outcome import StoreOutcome
from services.deletion.erasure.plan import StorePlan

pytestmark = pytest.mark.integration
KEY = b"log-batch-test-hmac-key-32-bytes"
NOW = datetime.now(UTC) + timedelta(days=75)  # the demo's logs span months: some lines past retention, some not
SUBJECTS = 12


@pytest.fixture(scope="module")
def company(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> DemoCompany:
    redis_db = urlsplit(redis_url)._replace(path="/9").geturl()
    return generate_company(DemoTarget.in_directory(tmp_path_factory.mktemp("log-batches"), redis_db), 150, seed=5)


@pytest.fixture(scope="module")
def datamap(company: DemoCompany) -> DataMap:
    return load_demo_datamap(company.target)


@pytest.fixture(scope="module")
def identifiers(company: DemoCompany, datamap: DataMap) -> list[dict[str, frozenset[str]]]:
    """Every identifier of a dozen subjects, from a walk of the demo's own stores (providers not running)."""
    stores = [store for store in datamap.stores if store.kind != "http"]
    connectors = {store.name: open_connector(datamap, store) for store in stores}
    try:
        people = list_subjects(company.target.app_db_url, limit=SUBJECTS, everywhere=True)
        return [walk(datamap, connectors, {"email": frozenset([person.email])}).identifiers for person in people]
    finally:
        for connector in connectors.values():
            connector.close()


def logs_store(datamap: DataMap, log_dir: Path) -> DataMap:
    """The data map with its log store pointed at a copy of the logs, and the IP of a kept line HMAC'd, so an
    erasure both drops lines (retention over) and rewrites them (retained, masked)."""
    store = logs(datamap)
    fields = [f.model_copy(update={"deletion": Deletion(strategy="hmac")}) if f.name == "ip" else f
              for f in store.collections[0].fields]  # fmt: skip
    access = store.collections[0].model_copy(update={"path": str(log_dir / "access.log*"), "fields": tuple(fields)})
    moved = store.model_copy(update={"collections": (access, *store.collections[1:])})
    return datamap.model_copy(update={"stores": tuple(moved if s.name == "web-logs" else s for s in datamap.stores)})


def logs(datamap: DataMap) -> Store:
    store = datamap.store("web-logs")
    assert store is not None
    return store


def log_plan(datamap: DataMap, identifiers: dict[str, frozenset[str]]) -> StorePlan:
    [plan] = plan_erasure(datamap, identifiers, now=NOW, stores=["web-logs"]).stores
    return plan


def contents(log_dir: Path) -> dict[str, bytes]:
    return {path.name: gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            for path in sorted(log_dir.iterdir()) if not path.name.startswith(".")}  # fmt: skip


def test_concurrent_searches_share_one_pass_and_each_gets_its_own_lines(
    datamap: DataMap, identifiers: list[dict[str, frozenset[str]]]
) -> None:
    store = logs(datamap)
    alone = [sorted(r.locator for r in JsonLinesConnector(datamap, store).search(ids)) for ids in identifiers]
    assert all(alone), "every subject chosen has log lines"

    shared = JsonLinesConnector(datamap, store)
    passes: list[int] = []
    search_many = shared.search_many
    shared.search_many = lambda batch: (passes.append(len(batch)), search_many(batch))[1]  # type: ignore[method-assign]
    results: dict[int, list[str]] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(
        i, sorted(r.locator for r in shared.search(identifiers[i])))) for i in range(len(identifiers))]  # fmt: skip
    with shared._pass_lock:  # a pass is running: every search that arrives now waits and is queued
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(shared._queued) < len(identifiers) and time.monotonic() < deadline:
            time.sleep(0.01)
    for thread in threads:
        thread.join(10)
    assert passes == [len(identifiers)], "one pass answered every queued search"
    assert [results[i] for i in range(len(identifiers))] == alone


def test_a_failing_pass_fails_every_search_in_it(datamap: DataMap, tmp_path: Path) -> None:
    (tmp_path / "access.log").write_bytes(b"")
    (tmp_path / "access.log.2.gz").write_bytes(b"not gzip at all")
    store = logs(logs_store(datamap, tmp_path))
    with pytest.raises(StoreUnavailable, match=r"cannot read access\.log\.2\.gz"):
        JsonLinesConnector(datamap, store).search({"device_id": frozenset(["d-1"])})


def test_a_batch_erases_like_one_by_one_in_one_pass(
    company: DemoCompany, datamap: DataMap, identifiers: list[dict[str, frozenset[str]]], tmp_path: Path
) -> None:
    one_by_one, together = tmp_path / "one-by-one", tmp_path / "together"
    for copy in (one_by_one, together):
        shutil.copytree(company.target.log_dir, copy)
    original = contents(together)

    single_map, batch_map = logs_store(datamap, one_by_one), logs_store(datamap, together)
    single = JsonLinesEraser(single_map, logs(single_map), KEY)
    outcomes = [single.erase(log_plan(single_map, ids)) for ids in identifiers]

    batch = JsonLinesEraser(batch_map, logs(batch_map), KEY)
    plans = [log_plan(batch_map, ids) for ids in identifiers]
    dry = batch.erase_many([(plan, lambda outcome: outcome) for plan in plans], dry_run=True)
    assert contents(together) == original, "a dry run changes nothing"
    settled: list[StoreOutcome] = []
    together_outcomes = batch.erase_many([(plan, lambda o: (settled.append(o), o)[1]) for plan in plans])

    assert together_outcomes == outcomes == dry == settled
    assert all(outcome.total("deleted") + outcome.total("retained") > 0 for outcome in outcomes)
    assert sum(o.total("deleted") for o in outcomes) and sum(o.total("retained") for o in outcomes), "both kinds"
    erased = contents(together)
    assert erased == contents(one_by_one) != original
    again = batch.erase_many([(plan, lambda o: o) for plan in plans])  # a replay: nothing left to delete
    assert all(isinstance(o, StoreOutcome) and o.total("deleted") == 0 for o in again)
    assert contents(together) == erased


def test_nothing_is_replaced_when_settling_fails(
    company: DemoCompany, datamap: DataMap, identifiers: list[dict[str, frozenset[str]]], tmp_path: Path
) -> None:
    shutil.copytree(company.target.log_dir, tmp_path / "logs")
    moved = logs_store(datamap, tmp_path / "logs")
    before = contents(tmp_path / "logs")
    eraser = JsonLinesEraser(moved, logs(moved), KEY)

    def settle(outcome: StoreOutcome) -> StoreOutcome:
        raise StoreUnavailable("web-logs", "journal down")

    results = eraser.erase_many([(log_plan(moved, ids), settle) for ids in identifiers[:3]])
    assert [getattr(result, "reason", result) for result in results] == ["journal down"] * 3
    assert contents(tmp_path / "logs") == before
    assert not [path for path in (tmp_path / "logs").iterdir() if path.name.startswith(".")], "no temporary left"


def test_line_numbers_follow_the_file_after_it_is_rewritten(
    company: DemoCompany, datamap: DataMap, identifiers: list[dict[str, frozenset[str]]], tmp_path: Path
) -> None:
    shutil.copytree(company.target.log_dir, tmp_path / "logs")
    moved = logs_store(datamap, tmp_path / "logs")
    connector = JsonLinesConnector(moved, logs(moved))
    before = sorted(r.locator for r in connector.search(identifiers[-1]))
    assert sorted(r.locator for r in connector.search(identifiers[-1])) == before, "cached counts, same numbers"
    JsonLinesEraser(moved, logs(moved), KEY).erase_many(
        [(log_plan(moved, ids), lambda o: o) for ids in identifiers[:-1]]
    )
    after = sorted(r.locator for r in connector.search(identifiers[-1]))
    assert after == sorted(r.locator for r in JsonLinesConnector(moved, logs(moved)).search(identifiers[-1]))
    assert after != before, "lines before the subject's were dropped, so its line numbers moved"
