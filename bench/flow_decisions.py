"""`python -m bench.flow_decisions`: the decision library at the flow, beside its floors.

- Decisions/s on one core with 1M subjects in the cache (Decider.decide over the compact store, keys in random
  order), beside a bare dict lookup of the same keys; the cache's memory (RSS delta of filling it), beside a plain
  dict of SubjectState objects.
- Staleness: an opt-out submitted through intake's HTTP API -> the cache's decision for that subject flips, p50/p99,
  beside the Kafka round-trip floor (produce -> consume of one record on the same broker).
- Catch-up: a fresh cache reading N state records from the beginning of the topic (records/s).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bench import floors, infra
from bench.optout import TopicWatch
from bench.report import fmt
from bench.stats import summarise
from services.common.crypto import subject_key_of
from services.common.event_types import EventType
from services.common.events import Event, utcnow
from services.common.flows import Decider, FlowRule, Relation, SubjectState
from services.common.flows.cache import OptOutStateCache
from services.common.flows.store import StateStore
from services.common.identity import IdentifierKind
from services.common.kafka import EventProducer, event_message
from services.common.payloads.consent import OptOutStatePayload
from services.common.serde import SingleObjectCodec
from services.common.settings import decode_key
from services.common.topics import OPTOUT_STATE, TopicNames
from services.optout.gpp import usca_for, usp_for

RESULTS = infra.REPO_ROOT / ".local" / "bench" / "flow_decisions.json"
SALE = FlowRule("coop-export", "brightlist", Relation.SALE, "server_export", frozenset(), permitted=False)
FLIP_TIMEOUT_S = 15.0
CODEC = SingleObjectCodec()


@dataclass
class Figures:
    subjects: int = 0
    decisions_per_s: float = 0.0
    dict_lookups_per_s: float = 0.0
    cache_rss_bytes: int = 0
    naive_rss_bytes: int = 0
    flips: list[float] = field(default_factory=list)
    to_state: list[float] = field(default_factory=list)  # the same opt-out's OptOutState first seen on the topic
    flip_timeouts: int = 0
    round_trips: list[float] = field(default_factory=list)
    catch_up_records: int = 0
    catch_up_seconds: float = 0.0


class Filled:
    """A StateSource over a filled store, always fresh (what a caught-up cache answers)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def get(self, subject_key: str) -> SubjectState | None:
        return self.store.get(subject_key)

    def fresh(self) -> bool:
        return True


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.flow_decisions", description=__doc__)
    parser.add_argument("--subjects", type=int, default=1_000_000, help="subjects in the cache (default 1M)")
    parser.add_argument("--decisions", type=int, default=1_000_000, help="decisions timed (default 1M)")
    parser.add_argument("--samples", type=int, default=50, help="opt-outs timed to the flip (default 50)")
    parser.add_argument("--catch-up", type=int, default=50_000, help="state records a fresh cache reads (50k)")
    return parser.parse_args(argv)


def _rss() -> int:
    gc.collect()
    return infra.rss_bytes(os.getpid()) or 0


def state_of(index: int) -> SubjectState:
    """Every third subject opted out, by a request (its id kept), the others with no request on record."""
    if index % 3 == 0:
        return SubjectState(index + 1, True, True, request_id=str(uuid.UUID(int=index + 1)))
    return SubjectState(index + 1, False, False)


def in_process(figures: Figures, subjects: int, decisions: int) -> None:
    """Decisions/s and memory, on one core."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    keys = [random.randbytes(32).hex() for _ in range(subjects)]
    before = _rss()
    store = StateStore()
    for index, key in enumerate(keys):
        store.put(key, state_of(index))
    figures.cache_rss_bytes = _rss() - before
    figures.subjects = len(store)
    probe = random.choices(keys, k=decisions)
    decide = Decider({SALE.name: SALE}, Filled(store)).decide
    started = time.perf_counter()
    for key in probe:
        decide(key, "coop-export")
    figures.decisions_per_s = decisions / (time.perf_counter() - started)
    plain = dict.fromkeys(keys, 0)
    lookup = plain.get
    started = time.perf_counter()
    for key in probe:
        lookup(key)
    figures.dict_lookups_per_s = decisions / (time.perf_counter() - started)
    del plain, store
    before = _rss()
    # New key strings, as a cache decoding records holds (not the benchmark's own list).
    naive = {"".join(key): state_of(index) for index, key in enumerate(keys)}
    figures.naive_rss_bytes = _rss() - before
    del naive
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))


def staleness(figures: Figures, samples: int, catch_up: int, console: Console) -> None:
    """Opt-out (HTTP) -> the decision flips, on a real pipeline; the Kafka floor on the same broker."""
    with infra.infrastructure() as stack:
        config = infra.pipeline_config(stack, customers=10)
        with infra.running_pipeline(config) as pipeline:
            console.log(f"pipeline up: intake {pipeline.intake.url}; {samples} opt-outs to the flip")
            secret = decode_key(pipeline.secrets["CCPA_SUBJECT_KEY_SECRET"], "CCPA_SUBJECT_KEY_SECRET")
            topics = TopicNames(config.topic_namespace)
            cache = OptOutStateCache({"bootstrap.servers": stack.bootstrap_servers}, topics, name="bench").start()
            watch = TopicWatch(stack.bootstrap_servers, topics).start()
            try:
                assert cache.wait_until_caught_up(60), "the cache did not catch up"
                decider = Decider({SALE.name: SALE}, cache)
                with httpx.Client(base_url=pipeline.intake.url, timeout=10) as client:
                    for number in range(samples + 5):
                        _flip(client, decider, secret, watch, figures if number >= 5 else None)
            finally:
                watch.close()
                cache.stop()
            _catch_up(figures, stack.bootstrap_servers, topics, catch_up, console)
        figures.round_trips = floors.kafka_round_trips(stack.bootstrap_servers, samples).round_trips


def _flip(client: httpx.Client, decider: Decider, secret: bytes, watch: TopicWatch, figures: Figures | None) -> None:
    device = f"bench-{uuid.uuid4()}"
    subject = subject_key_of(secret, IdentifierKind.DEVICE_ID, device)
    assert decider.decide(subject, "coop-export"), "a subject with no choice should be allowed"
    started = time.perf_counter()
    response = client.post("/v1/requests", json={"type": "opt_out", "identifiers": {"device_id": device}})
    assert response.status_code == 202, f"POST /v1/requests answered {response.status_code}"
    deadline = started + FLIP_TIMEOUT_S
    while decider.decide(subject, "coop-export") and time.perf_counter() < deadline:
        time.sleep(0.0005)
    flipped = time.perf_counter()
    if figures is None:
        return
    if flipped >= deadline:
        figures.flip_timeouts += 1
    else:
        figures.flips.append(flipped - started)
        settled = time.perf_counter() + 2.0  # the watcher reads in 50 ms batches: it may see the record after the flip
        while ("state", subject) not in watch.seen and time.perf_counter() < settled:
            time.sleep(0.001)
        seen = watch.seen.get(("state", subject))
        if seen is not None:
            figures.to_state.append(seen - started)


def _catch_up(figures: Figures, bootstrap: str, topics: TopicNames, count: int, console: Console) -> None:
    """Publish `count` state records on the pipeline's topic, then time a fresh cache reading them all."""
    producer = EventProducer({"bootstrap.servers": bootstrap}, "bench-catch-up")
    try:
        for start in range(0, count, 5000):
            batch = [event_message(topics(OPTOUT_STATE), opted_out_state(random.randbytes(32).hex()), CODEC)
                     for _ in range(start, min(count, start + 5000))]  # fmt: skip
            producer.send_all(batch, timeout=120)
    finally:
        producer.close()
    console.log(f"{count} state records published; timing a fresh cache's catch-up")
    started = time.perf_counter()
    cache = OptOutStateCache({"bootstrap.servers": bootstrap}, topics, name="bench-catch-up").start()
    try:
        assert cache.wait_until_caught_up(600), "the cache did not catch up"
        figures.catch_up_seconds = time.perf_counter() - started
        figures.catch_up_records = len(cache)
    finally:
        cache.stop()


def opted_out_state(subject_key: str) -> Event[OptOutStatePayload]:
    """An OptOutState as the opt-out service writes it (sale and sharing opted out, by GPC)."""
    payload = OptOutStatePayload(version=1, scope="consumer", sale_opt_out=True, share_opt_out=True, source="gpc",
                                 effective_at=utcnow(), gpp=usca_for(True, True, frozenset(), gpc=True),
                                 usp=usp_for(True))  # fmt: skip
    return Event(EventType.OPT_OUT_STATE, subject_key, "optout", payload=payload, request_id=str(uuid.uuid4()))


def as_json(figures: Figures) -> dict[str, Any]:
    return {
        "subjects": figures.subjects,
        "decisions_per_s": figures.decisions_per_s,
        "dict_lookups_per_s": figures.dict_lookups_per_s,
        "cache_rss_bytes": figures.cache_rss_bytes,
        "naive_dict_rss_bytes": figures.naive_rss_bytes,
        "opt_out_to_flip": summarise(figures.flips).as_dict(),
        "flip_timeouts": figures.flip_timeouts,
        "opt_out_to_state_on_topic": summarise(figures.to_state).as_dict(),
        "kafka_round_trip": summarise(figures.round_trips).as_dict(),
        "catch_up_records": figures.catch_up_records,
        "catch_up_seconds": figures.catch_up_seconds,
    }


def render(figures: Figures, console: Console) -> None:
    table = Table(title=f"Decisions at the flow ({figures.subjects:,} subjects in the cache)", title_justify="left")
    for column in ("figure", "value", "floor", "floor is"):
        table.add_column(column)
    table.add_row("decisions on one core", fmt("rate", figures.decisions_per_s),
                  fmt("rate", figures.dict_lookups_per_s), "a bare dict lookup of the same keys")  # fmt: skip
    table.add_row("memory of the cache (RSS delta)", fmt("size", figures.cache_rss_bytes),
                  fmt("size", figures.naive_rss_bytes), "a dict of SubjectState (the naive way)")  # fmt: skip
    flips, trips = summarise(figures.flips), summarise(figures.round_trips)
    for name, value, floor in (("p50", flips.p50, trips.p50), ("p99", flips.p99, trips.p99)):
        table.add_row(f"opt-out (HTTP) -> decision flips, {name} ({flips.count} runs, {figures.flip_timeouts} lost)",
                      fmt("latency", value), fmt("latency", floor), "Kafka produce -> consume, one record")  # fmt: skip
    part = summarise(figures.to_state)
    table.add_row(f"  of which opt-out (HTTP) -> OptOutState on the topic ({part.count}), p50 / p99",
                  f"{fmt('latency', part.p50)} / {fmt('latency', part.p99)}", "", "the pipeline's share")  # fmt: skip
    rate = figures.catch_up_records / figures.catch_up_seconds if figures.catch_up_seconds else None
    table.add_row(f"a fresh cache catching up ({figures.catch_up_records:,} records)", fmt("rate", rate), "—", "")
    console.print(table)
    console.print(f"[bold]json[/]: {RESULTS}")


def run(args: argparse.Namespace, console: Console) -> Figures:
    figures = Figures()
    console.log(f"filling a cache with {args.subjects:,} subjects; {args.decisions:,} decisions on one core")
    in_process(figures, args.subjects, args.decisions)
    staleness(figures, args.samples, args.catch_up, console)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(as_json(figures), indent=2) + "\n")
    return figures


def main(argv: list[str]) -> int:
    args = parse(argv)
    return infra.console_main(lambda console: render(run(args, console), console), "processes, PostgreSQL and Kafka")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
