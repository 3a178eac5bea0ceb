"""The opensearch store on a real node (`python -m bench.opensearch_store --docs 1000000`): know (search by the
subject's email and account id) and erase (search, delete by id with refresh, re-search to verify) latency on one
index of N documents, three per subject, beside the floor (the same request made bare with opensearch-py).

Value: the connector's call. Floor: the bare query (know) or the bare bulk delete with refresh (erase) on the same
documents. Previous and target: bench/targets.py when it has the key (these figures are new: "—" until then).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch, helpers
from rich.console import Console
from rich.table import Table

from bench.targets import TARGETS, previous, record
from devtools.localstack.opensearch import OpenSearchServer
from services.common.datamap import parse_datamap
from services.common.stores.opensearch_query import any_of, clauses, match_field
from services.common.stores.opensearch_store import OpenSearchConnector

COMMAND = "python -m bench.opensearch_store"
INDEX = "bench-events"
DOCS_PER_SUBJECT = 3
MAPPING = {
    "settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1",
                 "analysis": {"normalizer": {"folded": {"type": "custom", "filter": ["lowercase"]}}}},
    "mappings": {"properties": {"email": {"type": "keyword", "normalizer": "folded"},
                                "account_id": {"type": "keyword"}, "ip": {"type": "keyword"},
                                "path": {"type": "keyword"}, "ts": {"type": "date"}}},
}  # fmt: skip
DATAMAP = """
business: Bench
stores:
  - name: search
    kind: opensearch
    url: {url}
    timeout_seconds: 30
    collections:
      - name: events
        path: {index}
        timestamp_field: ts
        fields:
          - {{name: email, identifies: email, category: A}}
          - {{name: account_id, identifies: account_id, category: A}}
          - {{name: ip, category: F}}
          - {{name: path, category: F}}
          - {{name: ts}}
"""


def email(n: int) -> str:
    return f"User{n}@Example.com"  # mixed case as stored; searched lower-case


def documents(subjects: int) -> Iterator[dict[str, Any]]:
    for n in range(subjects):
        for k in range(DOCS_PER_SUBJECT):
            source = {"account_id": f"acct-{n}", "ip": f"10.{n % 250}.{k}.1", "path": f"/p/{k}",
                      "ts": "2026-12-01T10:00:00Z"}  # fmt: skip
            if k == 0:
                source["email"] = email(n)  # the other two are reached through the account id
            yield {"_index": INDEX, "_source": source}


def load(client: OpenSearch, subjects: int, console: Console) -> float:
    client.indices.create(index=INDEX, body=MAPPING)
    started = time.monotonic()
    done = 0
    for ok, _item in helpers.streaming_bulk(client, documents(subjects), chunk_size=5000, request_timeout=120):
        done += ok
        if done % 300_000 == 0:
            console.log(f"indexed {done}")
    client.indices.put_settings(index=INDEX, body={"index": {"refresh_interval": "1s"}})
    client.indices.refresh(index=INDEX, request_timeout=300)
    client.indices.forcemerge(index=INDEX, max_num_segments=1, request_timeout=600)
    return done / (time.monotonic() - started)


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def identifiers(n: int) -> dict[str, frozenset[str]]:
    return {"email": frozenset({email(n).lower()}), "account_id": frozenset({f"acct-{n}"})}


def measure(url: str, subjects: int, samples: int) -> dict[str, list[float]]:
    client = OpenSearch(hosts=[url], timeout=60)
    datamap = parse_datamap(DATAMAP.format(url=url, index=INDEX))
    store = OpenSearchConnector(datamap, datamap.stores[0])
    mapping = client.indices.get_mapping(index=INDEX)[INDEX]["mappings"]
    chosen = random.Random(18).sample(range(subjects), 2 * samples)
    know, erase = chosen[:samples], chosen[samples:]
    figures: dict[str, list[float]] = {"know": [], "know_floor": [], "erase": [], "erase_floor": [], "verify": []}
    for n in know:
        shoulds = [c for name, kind, values in (("email", "email", [email(n).lower()]),
                                                ("account_id", "account_id", [f"acct-{n}"]))
                   for c in clauses(match_field(mapping, name), kind, values)]  # fmt: skip
        figures["know_floor"].append(timed(partial(client.search, index=INDEX, body={"query": any_of(shoulds)})))
        figures["know"].append(timed(partial(_found, store, n, DOCS_PER_SUBJECT)))
    for n in erase[: samples // 2]:  # floor: the bare bulk delete by id with refresh of the subject's documents
        hits = client.search(index=INDEX, body={"query": {"term": {"account_id": f"acct-{n}"}}})["hits"]["hits"]
        actions = [{"_op_type": "delete", "_index": INDEX, "_id": hit["_id"]} for hit in hits]
        figures["erase_floor"].append(timed(partial(helpers.bulk, client, actions, refresh=True)))
    for n in erase[samples // 2 :]:
        figures["erase"].append(timed(partial(_erased, store, n)))
        figures["verify"].append(timed(partial(_found, store, n, 0)))
    store.close()
    client.close()
    return figures


def _found(store: OpenSearchConnector, n: int, wanted: int) -> None:
    _expect(len(store.search(identifiers(n))), wanted)


def _erased(store: OpenSearchConnector, n: int) -> None:
    _expect(store.erase(identifiers(n)), DOCS_PER_SUBJECT)


def _expect(found: int, wanted: int) -> None:
    if found != wanted:
        raise SystemExit(f"expected {wanted} documents, found {found}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__)
    parser.add_argument("--docs", type=int, default=1_000_000, help="documents in the index (3 per subject)")
    parser.add_argument("--samples", type=int, default=40, help="subjects timed per operation")
    parser.add_argument("--heap", default="512m")
    args = parser.parse_args(argv)
    console = Console()
    subjects = args.docs // DOCS_PER_SUBJECT
    with tempfile.TemporaryDirectory(prefix="bench-opensearch-") as folder:
        node = OpenSearchServer(Path(folder), heap=args.heap)
        node.start()
        try:
            rate = load(OpenSearch(hosts=[node.url], timeout=120), subjects, console)
            console.log(f"{subjects * DOCS_PER_SUBJECT} documents indexed at {rate:.0f}/s")
            figures = measure(node.url, subjects, args.samples)
        finally:
            node.stop()
    report(figures, f"{COMMAND} --docs {args.docs}", args.docs, console)
    return 0


def report(figures: dict[str, list[float]], command: str, docs: int, console: Console) -> None:
    size = f"{docs // 1000}k" if docs < 1_000_000 else f"{docs // 1_000_000}M"
    table = Table(title=f"opensearch store, {docs} documents (ms; load average {_loadavg()})")
    for column in ("figure", "p50", "p95", "floor p50", "previous", "target"):
        table.add_column(column)
    for name, floor in (("know", "know_floor"), ("erase", "erase_floor"), ("verify", None)):
        key = f"opensearch.{size}.{name}_p50"
        p50, p95 = statistics.median(figures[name]), _p95(figures[name])
        floor_p50 = f"{statistics.median(figures[floor]):.1f}" if floor else "—"
        target = TARGETS.get(key)
        prev = previous(key)
        table.add_row(name, f"{p50:.1f}", f"{p95:.1f}", floor_p50, f"{prev:.1f}" if prev else "—",
                      f"≤ {target.target:g}" if target and target.target else "—")  # fmt: skip
        record(key, p50, command)
    console.print(table)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[0]


if __name__ == "__main__":
    sys.exit(main())
