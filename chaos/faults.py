"""The faults of a chaos run, one at a time: kill -9 of every service process (restarted at once), kill -9 of one
broker (restarted), and the demo company's PostgreSQL down for a while. Each is recorded with when it started and
when what was hit answered again."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from chaos.world import World
from devtools.local.process import ServiceProcess


@dataclass
class Fault:
    name: str  # "kill -9 intake", "kill -9 broker 2", "demo PostgreSQL down 60 s"
    kill: bool  # a kill (its stall is measured), not an outage
    started: float  # time.time()
    recovered: float | None = None


@dataclass(frozen=True)
class Schedule:
    rounds: int = 3  # kill -9 of every service process, this many times each
    gap_seconds: float = 5.0  # after each recovery, before the next fault
    outage_seconds: float = 60.0

    def kill_seconds(self, processes: int = 6) -> float:
        """About how long the kills take, before the outage: a restart is ready in about 7 s on 2 busy cores."""
        return self.gap_seconds + self.rounds * processes * (self.gap_seconds + 7) + 10 + self.gap_seconds


@dataclass
class Chaos:
    world: World
    schedule: Schedule
    log: Callable[[str], None]
    faults: list[Fault] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    failure: str | None = None
    crashes: list[str] = field(default_factory=list)  # processes found dead that the run had not killed
    outage_begun: threading.Event = field(default_factory=threading.Event)  # or the schedule ended without one

    def run(self) -> None:
        """Every fault of the schedule in turn; a fault that cannot recover ends the schedule with `failure` set."""
        try:
            if self.stopping.wait(self.schedule.gap_seconds):  # let the load begin first
                raise _Stopped
            for round_number in range(self.schedule.rounds):
                for process in self._processes():
                    self._found_dead(process)
                    self._step(f"kill -9 {self._label(process)}", True, functools.partial(self._restart, process))
                if round_number == 0:
                    self._step("kill -9 broker 2", True, self._restart_broker)
            self._step(f"demo PostgreSQL down {self.schedule.outage_seconds:.0f} s", False, self._outage)
        except _Stopped:
            pass
        except Exception as exc:  # a process that does not come back: report it, the run's figures follow
            self.failure = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        finally:
            self.outage_begun.set()

    def check_alive(self) -> None:
        """Note every service or provider process that is not running now (the run restarts all it kills)."""
        for process in [*self._processes(), *self.world.providers.values()]:
            self._found_dead(process)

    def _found_dead(self, process: ServiceProcess) -> None:
        if process.process is not None and not process.running():
            self.crashes.append(f"{self._label(process)} exited with {process.returncode()}; see {process.log_file}")

    @property
    def last_recovery(self) -> float | None:
        times = [fault.recovered for fault in self.faults if fault.recovered is not None]
        return max(times) if times else None

    def _processes(self) -> list[ServiceProcess]:
        pipeline = self.world.pipeline
        return [*pipeline.services, *([pipeline.downstream] if pipeline.downstream else [])]

    @staticmethod
    def _label(process: ServiceProcess) -> str:
        return "downstream" if process.port == 0 else process.service

    def _step(self, name: str, kill: bool, act: Callable[[], None]) -> None:
        if self.stopping.is_set():
            raise _Stopped
        fault = Fault(name, kill, time.time())
        self.faults.append(fault)
        self.log(name)
        act()
        fault.recovered = time.time()
        if self.stopping.wait(self.schedule.gap_seconds):
            raise _Stopped

    @staticmethod
    def _restart(process: ServiceProcess) -> None:
        process.kill()
        process.start(timeout=120)

    def _restart_broker(self) -> None:
        index = len(self.world.kafka.nodes) - 1
        pid = self.world.kafka.pids()[index]
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _wait_gone(pid)
        self.world.kafka.start_broker(index, timeout=120)

    def _outage(self) -> None:
        self.world.demo_db.stop()
        self.outage_begun.set()
        try:
            if self.stopping.wait(self.schedule.outage_seconds):
                raise _Stopped
        finally:
            self.world.demo_db.start()


class _Stopped(Exception):
    """The run is ending (Ctrl-C, or the load is over and the schedule must not outlive it)."""


def _wait_gone(pid: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            waited, _ = os.waitpid(pid, os.WNOHANG)  # our child: reap it so its PID is gone
            if waited == pid:
                return
        except ChildProcessError:
            if not _alive(pid):
                return
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
