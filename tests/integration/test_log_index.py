"""Discovery, erasure and verification's re-walk of the demo company's real access logs (rotated and gzipped)
through the log index give what the full scan gives: the same records before, none of the erased subjects' after
(so verification passes), and every other subject's lines still found."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from devtools.demo.generator import DemoCompany, DemoTarget, generate_company, load_demo_datamap
from devtools.demo.subjects import list_subjects
from services.common.datamap import DataMap
from services.common.datamap.model import Store
from services.common.stores import logindexed, open_connector, walk
from services.common.stores.jsonl import JsonLinesConnector
from services.common.stores.logindex import LogIndex
from services.deletion.erasure import plan_erasure
from services.deletion.erasure.jsonl import JsonLinesEraser

pytestmark = pytest.mark.integration
KEY = b"log-index-test-hmac-key-32-bytes"
NOW = datetime.now(UTC) + timedelta(days=75)  # the demo's logs span months: some lines are past retention


@pytest.fixture(scope="module")
def company(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> DemoCompany:
    redis_db = urlsplit(redis_url)._replace(path="/10").geturl()
    return generate_company(DemoTarget.in_directory(tmp_path_factory.mktemp("log-index"), redis_db), 150, seed=7)


@pytest.fixture
def world(company: DemoCompany, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DataMap]:
    """The demo's data map with its access logs copied (erasure changes them); no index until `indexed()`."""
    shutil.copytree(company.target.log_dir, tmp_path / "logs")
    datamap = load_demo_datamap(company.target)
    store = datamap.store("web-logs")
    assert store is not None
    access = store.collections[0].model_copy(update={"path": str(tmp_path / "logs" / "access.log*")})
    moved = store.model_copy(update={"collections": (access, *store.collections[1:])})
    monkeypatch.setenv("CCPA_SUBJECT_KEY_SECRET", base64.b64encode(b"k" * 32).decode())
    monkeypatch.delenv("CCPA_LOG_INDEX_DIR", raising=False)
    yield datamap.model_copy(update={"stores": tuple(moved if s.name == "web-logs" else s for s in datamap.stores)})
    logindexed.close_all()


def logs(datamap: DataMap) -> Store:
    store = datamap.store("web-logs")
    assert store is not None
    return store


def lines(datamap: DataMap, identifiers: dict[str, frozenset[str]]) -> list[str]:
    """What a search finds, by content (a scan names lines by number, the index by offset)."""
    found = JsonLinesConnector(datamap, logs(datamap)).search(identifiers)
    return sorted(repr(sorted(record.values.items(), key=repr)) for record in found)


def test_discovery_erasure_and_verification_through_the_index(
    company: DemoCompany, world: DataMap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stores = [store for store in world.stores if store.kind != "http"]
    connectors = {store.name: open_connector(world, store) for store in stores}
    try:
        people = list_subjects(company.target.app_db_url, limit=6, everywhere=True)
        ids = [walk(world, connectors, {"email": frozenset([p.email])}).identifiers for p in people]
    finally:
        for connector in connectors.values():
            connector.close()
    scanned = [lines(world, one) for one in ids]
    assert all(scanned), "every subject chosen has log lines"

    monkeypatch.setenv("CCPA_LOG_INDEX_DIR", str(tmp_path / "index"))
    assert [lines(world, one) for one in ids] == scanned, "the index finds what the scan finds"
    doomed, kept = ids[:2], ids[2:]
    for one in doomed:
        [plan] = plan_erasure(world, one, now=NOW, stores=["web-logs"]).stores
        outcome = JsonLinesEraser(world, logs(world), KEY).erase(plan)
        assert sum(sum(actions.values()) for actions in outcome.counts.values()) > 0
    reindexed: list[str] = []
    index_from = LogIndex._index

    def watched(self: LogIndex, file: int, path: Path, start: int) -> None:
        if start == 0:
            reindexed.append(path.name)
        index_from(self, file, path, start)

    monkeypatch.setattr(LogIndex, "_index", watched)
    after = [lines(world, one) for one in ids]
    assert reindexed == [], "the rewritten files' entries were moved, not rebuilt by reading the files again"
    monkeypatch.delenv("CCPA_LOG_INDEX_DIR")
    rescanned = [lines(world, one) for one in ids]
    assert after == rescanned, "after erasure the index and the scan agree"
    assert all(after[i] != scanned[i] for i in range(len(doomed))), "no erased line is found as it was"
    assert after[len(doomed) :] == scanned[len(doomed) :], "other subjects' lines are all still found"
    assert kept
