"""One chaos run: start the world, send the mix at a steady rate and then as a burst while the faults happen one
at a time, wait for the answers, read every timeline and the providers' records, and count."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from chaos import timelines
from chaos.faults import Chaos, Fault, Schedule
from chaos.observe import AnswerWatch, fetch_timelines, poll_until, provider_counts
from chaos.verdict import Figures
from chaos.workload import Planned, Submitter, plan
from chaos.world import PROVIDER_NAMES, REPO_ROOT, World, running_world

LOG_DIR = REPO_ROOT / ".local" / "chaos" / "logs"


@dataclass(frozen=True)
class Settings:
    requests: int = 2000
    steady_share: float = 0.7  # sent at `rate` during the kills; the rest as one burst when the store goes down
    rate: float | None = None  # requests/s in the steady part; None spreads it over the kills
    burst_clients: int = 16
    schedule: Schedule = field(default_factory=Schedule)
    drain_seconds: float = 300.0  # how long to wait for the last answers before counting the rest lost
    complete_seconds: float = 60.0  # after the last answer, for late entries (acknowledgements, confirmations)


@dataclass
class Outcome:
    figures: Figures
    faults: list[Fault]
    stalls: dict[int, float | None]  # index into faults → seconds to the next answer (kills only)
    refusals: dict[str, int]
    incomplete: dict[str, int]  # "kind: missing events" → requests
    schedule_failure: str | None
    retries_absorbed: int
    started: float
    crashes: list[str]


def run(settings: Settings, console: Console) -> Outcome:
    shutil.rmtree(LOG_DIR, ignore_errors=True)
    subjects = settings.requests + 50
    with running_world(subjects, LOG_DIR, console.log) as world:
        return _exercise(world, settings, console)


def _exercise(world: World, settings: Settings, console: Console) -> Outcome:
    requests = plan(world.customers(), settings.requests)
    submitter = Submitter(world.pipeline.intake.url)
    watch = AnswerWatch(world.pipeline.config.audit_db_url)
    chaos = Chaos(world, settings.schedule, console.log)
    started = time.time()
    threads = [threading.Thread(target=target, daemon=True, name=name)
               for name, target in (("watch", watch.run), ("chaos", chaos.run))]  # fmt: skip
    for thread in threads:
        thread.start()
    try:
        rate = settings.rate or _spread(settings)
        console.log(f"sending {settings.requests:,} requests: {settings.steady_share:.0%} at {rate:.1f}/s, "
                    "then the rest at once when the store goes down")  # fmt: skip
        _send(requests, submitter, settings, rate, chaos.outage_begun)
        console.log("all requests sent; waiting for the fault schedule to finish")
        threads[1].join()
        return _count(world, requests, watch, chaos, settings, console, started)
    finally:
        for stopping in (submitter.stopping, chaos.stopping, watch.stopping):
            stopping.set()
        for thread in threads:
            thread.join(timeout=120)


def _spread(settings: Settings) -> float:
    """A rate at which the steady part lasts as long as the kills, so that every kill finds work in flight."""
    return max(1.0, settings.requests * settings.steady_share / settings.schedule.kill_seconds())


def _send(requests: list[Planned], submitter: Submitter, settings: Settings, rate: float,
          outage_begun: threading.Event) -> None:  # fmt: skip
    """The steady part at `rate` (a request blocked by a fault does not hold back the next), then the burst into
    the store outage: its backlog is what must be answered within 30 s of the store's return."""
    steady = round(len(requests) * settings.steady_share)
    pool = ThreadPoolExecutor(settings.burst_clients)
    try:
        begun = time.monotonic()
        for position, request in enumerate(requests[:steady]):
            delay = begun + position / rate - time.monotonic()
            if delay > 0 and submitter.stopping.wait(delay):
                return
            pool.submit(submitter.submit, request)
        while not outage_begun.wait(0.5):
            if submitter.stopping.is_set():
                return
        for request in requests[steady:]:
            pool.submit(submitter.submit, request)
    except BaseException:
        submitter.stopping.set()  # Ctrl-C: requests in flight give up instead of retrying
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=submitter.stopping.is_set())


def _count(world: World, requests: list[Planned], watch: AnswerWatch, chaos: Chaos, settings: Settings,
           console: Console, started: float) -> Outcome:  # fmt: skip
    accepted = [r for r in requests if r.request_id]
    console.log(f"{len(accepted):,} accepted; waiting for every one to be answered")
    poll_until(lambda: watch.answered >= len(accepted), settings.drain_seconds, chaos.stopping)
    entries = _timelines(world, accepted, settings, chaos.stopping, console)
    chaos.check_alive()
    last_recovery = max([chaos.last_recovery or started, *(r.accepted_at or started for r in accepted)])
    answered_at = watch.all_answered_at(len(accepted))
    providers = provider_counts({name: f"sqlite:///{world.target.provider_data(name)}" for name in PROVIDER_NAMES},
                                accepted)  # fmt: skip
    stalls = _stalls(chaos.faults, accepted, watch)
    measured = [stall if stall is not None else float("inf") for stall in stalls.values()]
    deletes = [r for r in accepted if r.kind is timelines.Kind.DELETE]
    dupes = [timelines.duplicates(entries[r.request_id or ""]) for r in accepted]
    figures = Figures(
        submitted=len(requests), accepted=len(accepted),
        answered=sum(timelines.is_answered(_types(entries, r)) for r in accepted),
        complete=sum(not timelines.missing_events(r.kind, _types(entries, r)) for r in accepted),
        duplicate_event_ids=sum(d.event_ids for d in dupes), duplicate_effects=sum(d.effects for d in dupes),
        double_effects=providers.double_effects, deletions=len(deletes),
        deletions_verified=sum(timelines.verified_deletion(entries[r.request_id or ""]) for r in deletes),
        longest_stall=max(measured) if measured else None,
        settle=max(0.0, answered_at - last_recovery) if answered_at is not None else None,
        crashed=len(chaos.crashes),
    )  # fmt: skip
    return Outcome(figures, chaos.faults, stalls, _refusals(requests), _incomplete(accepted, entries),
                   chaos.failure, providers.retries_absorbed, started, chaos.crashes)  # fmt: skip


def _timelines(world: World, accepted: list[Planned], settings: Settings, stopping: threading.Event,
               console: Console) -> dict[str, list[Any]]:  # fmt: skip
    """Every accepted request's timeline; incomplete ones are read again until complete or time is up."""
    pipeline = world.pipeline
    ids = [r.request_id or "" for r in accepted]
    console.log(f"reading {len(ids):,} timelines from audit")
    entries = fetch_timelines(pipeline.audit.url, pipeline.auth, ids)
    deadline = time.monotonic() + settings.complete_seconds
    while time.monotonic() < deadline and not stopping.is_set():
        waiting = [r.request_id or "" for r in accepted if timelines.missing_events(r.kind, _types(entries, r))]
        if not waiting:
            break
        stopping.wait(2)
        entries.update(fetch_timelines(pipeline.audit.url, pipeline.auth, waiting))
    return entries


def _types(entries: dict[str, list[Any]], request: Planned) -> list[str]:
    return [str(entry["event_type"]) for entry in entries.get(request.request_id or "", [])]


def _stalls(faults: Sequence[Fault], accepted: Sequence[Planned], watch: AnswerWatch) -> dict[int, float | None]:
    """For each kill with requests waiting when it happened: seconds until the next one was answered."""
    stalls: dict[int, float | None] = {}
    for index, fault in enumerate(faults):
        if not fault.kill:
            continue
        waiting = sum(1 for r in accepted if (r.accepted_at or 0) <= fault.started) > _answered_at(watch, fault.started)
        if waiting:
            answered = watch.first_answer_after(fault.started)
            stalls[index] = answered - fault.started if answered is not None else None
    return stalls


def _answered_at(watch: AnswerWatch, instant: float) -> int:
    return max((count for at, count in watch.samples if at <= instant), default=0)


def _refusals(requests: Sequence[Planned]) -> dict[str, int]:
    refused: dict[str, int] = {}
    for request in requests:
        if request.refusal:
            key = f"{request.body['type']}: {request.refusal}"
            refused[key] = refused.get(key, 0) + 1
    return refused


def _incomplete(accepted: Sequence[Planned], entries: dict[str, list[Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for request in accepted:
        if missing := timelines.missing_events(request.kind, _types(entries, request)):
            key = f"{request.kind}: no {', '.join(missing)}"
            counts[key] = counts.get(key, 0) + 1
    return counts


def render_faults(outcome: Outcome, console: Console) -> None:
    table = Table(title="Faults, one at a time (stall: from the kill to the next request answered)")
    for column in ("at", "fault", "back after", "stall"):
        table.add_column(column, justify="left" if column == "fault" else "right")
    for index, fault in enumerate(outcome.faults):
        back = f"{fault.recovered - fault.started:.1f} s" if fault.recovered else "not back"
        stall = outcome.stalls.get(index)
        shown = "—" if index not in outcome.stalls else ("never" if stall is None else f"{stall:.1f} s")
        table.add_row(f"{fault.started - outcome.started:.0f} s", fault.name, back, shown)
    console.print(table)
