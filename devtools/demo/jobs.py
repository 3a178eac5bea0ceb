"""The two generation jobs (the app database; everything else) and how they run: one after the other, or in
two processes at once for large companies. Each job streams every subject, so neither needs the other's output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from devtools.demo import schema
from devtools.demo.applicants import write_applications
from devtools.demo.providers import PROVIDER_METADATA
from devtools.demo.records import app_rows
from devtools.demo.sinks import LogWriter, RedisWriter, SqlWriter, index_tables
from devtools.demo.subjects import iter_subjects
from devtools.demo.traces import LOG_FILES, log_lines, mailer_rows, marketing_rows, session_entries, shipper_rows

if TYPE_CHECKING:
    from devtools.demo.generator import DemoTarget

TICK_SUBJECTS = 1_000
PARALLEL_FROM = 20_000  # below this, starting a second interpreter costs more than it saves
Tick = Callable[[int], None]  # subjects done since the last call
Counts = dict[str, int]


class DemoGenerationError(RuntimeError):
    """The demo company could not be generated into the target (a store is unreachable or refused the data)."""


def app_job(target: DemoTarget, subjects: int, seed: int, tick: Tick) -> Counts:
    with SqlWriter(target.app_db_url, schema.app_metadata) as app:
        for subject in iter_subjects(subjects, seed):
            app_rows(subject, app)
            if subject.index % TICK_SUBJECTS == TICK_SUBJECTS - 1:
                tick(TICK_SUBJECTS)
        write_applications(subjects, seed, app)
    index_tables(target.app_db_url, schema.app_metadata)
    tick(subjects % TICK_SUBJECTS)
    return {f"app-db.{table}": count for table, count in app.counts.items()}


def side_job(target: DemoTarget, subjects: int, seed: int, tick: Tick) -> Counts:
    """Marketing database, session cache, access logs and the two providers' files."""
    mailer_url, shipper_url = (f"sqlite:///{target.provider_data(name)}" for name in ("mailer", "shipper"))
    with (
        SqlWriter(target.marketing_db_url, schema.marketing_metadata) as marketing,
        RedisWriter(target.redis_url) as cache,
        LogWriter(target.log_dir, LOG_FILES) as logs,
        SqlWriter(mailer_url, PROVIDER_METADATA["mailer"]) as mailer,
        SqlWriter(shipper_url, PROVIDER_METADATA["shipper"]) as shipper,
    ):
        for subject in iter_subjects(subjects, seed):
            marketing_rows(subject, marketing)
            for key, value in session_entries(subject):
                cache.add(key, value)
            for number, line in log_lines(subject):
                logs.add(number, line)
            mailer_rows(subject, mailer)
            shipper_rows(subject, shipper)
            if subject.index % TICK_SUBJECTS == TICK_SUBJECTS - 1:
                tick(TICK_SUBJECTS)
    index_tables(target.marketing_db_url, schema.marketing_metadata)
    index_tables(mailer_url, PROVIDER_METADATA["mailer"])
    index_tables(shipper_url, PROVIDER_METADATA["shipper"])
    tick(subjects % TICK_SUBJECTS)
    return {
        **{f"marketing-db.{table}": count for table, count in marketing.counts.items()},
        **{f"sessions.{prefix}s": count for prefix, count in cache.counts.items()},
        **{f"web-logs.{name}": count for name, count in logs.counts.items()},
        **{f"mailer.{table}": count for table, count in mailer.counts.items()},
        **{f"shipper.{table}": count for table, count in shipper.counts.items()},
    }


JOBS: dict[str, Callable[[DemoTarget, int, int, Tick], Counts]] = {"app": app_job, "side": side_job}
TITLES = {"app": "app database", "side": "marketing, sessions, logs, providers"}


def run_jobs(
    target: DemoTarget, subjects: int, seed: int, progress: bool = False, parallel: bool | None = None
) -> Counts:
    """Run both jobs: the side job in a child interpreter when the company is large and there is a second core."""
    if parallel is None:
        parallel = subjects >= PARALLEL_FROM and (os.cpu_count() or 1) > 1
    with _progress_bars(progress, subjects) as ticks:
        if not parallel:
            return app_job(target, subjects, seed, ticks["app"]) | side_job(target, subjects, seed, ticks["side"])
        with _ChildJob("side", target, subjects, seed, ticks["side"]) as side:
            counts = app_job(target, subjects, seed, ticks["app"])
            return counts | side.result()


@contextmanager
def _progress_bars(shown: bool, subjects: int) -> Iterator[dict[str, Tick]]:
    if not shown:
        yield {name: _ignore for name in JOBS}
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns) as bars:
        tasks = {name: bars.add_task(TITLES[name], total=subjects) for name in JOBS}
        yield {name: _advancer(bars, task) for name, task in tasks.items()}


def _advancer(bars: Progress, task: TaskID) -> Tick:
    def advance(done: int) -> None:
        bars.advance(task, done)

    return advance


def _ignore(_done: int) -> None:
    return None


class _ChildJob:
    """One job in a child interpreter, reporting progress and its counts as JSON lines on stdout."""

    def __init__(self, name: str, target: DemoTarget, subjects: int, seed: int, tick: Tick) -> None:
        self.name = name
        self.tick = tick
        self.counts: Counts | None = None
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed by __exit__)
        arguments = json.dumps({"job": name, "target": target.describe(), "subjects": subjects, "seed": seed})
        code = "from devtools.demo.jobs import child_main; child_main()"
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        # The target goes through stdin: its URLs may hold passwords, which a command line would show to `ps`.
        self.process = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            env=env,
            text=True,
        )
        assert self.process.stdin is not None
        self.process.stdin.write(arguments)
        self.process.stdin.close()
        self.reader = threading.Thread(target=self._read, name=f"demo-{name}-progress", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue  # not ours: a library writing to stdout
            if isinstance(message, dict) and "done" in message:
                self.tick(message["done"])
            elif isinstance(message, dict) and "counts" in message:
                self.counts = message["counts"]

    def result(self) -> Counts:
        self.process.wait()
        self.reader.join()
        if self.process.returncode != 0 or self.counts is None:
            self.errors.seek(0)
            tail = self.errors.read().decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise DemoGenerationError(
                f"{TITLES[self.name]}: the job failed (exit code {self.process.returncode}): {tail[0]}"
            )
        return self.counts

    def __enter__(self) -> _ChildJob:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self.process.poll() is None and kind is not None:
            self.process.terminate()
        self.process.wait()
        self.reader.join()
        self.errors.close()


def child_main() -> None:
    """Entry point of the child interpreter (see _ChildJob): run one job, report on stdout."""
    from devtools.demo.generator import DemoTarget

    arguments = json.loads(sys.stdin.read())
    target = DemoTarget.from_description(arguments["target"])

    def report(message: dict[str, object]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    counts = JOBS[arguments["job"]](
        target, arguments["subjects"], arguments["seed"], lambda done: report({"done": done})
    )
    report({"counts": counts})
