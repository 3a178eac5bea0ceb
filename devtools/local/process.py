"""One service as a child process on loopback: start, wait until ready, stop (SIGTERM) or kill (SIGKILL).

Used by the tests and the benchmarks, which need services they can crash and restart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

PORT_VARIABLES = {
    "intake": "CCPA_INTAKE_PORT",
    "audit": "CCPA_AUDIT_PORT",
    "discovery": "CCPA_DISCOVERY_PORT",
    "deletion": "CCPA_DELETION_PORT",
    "optout": "CCPA_OPTOUT_PORT",
    "console": "CCPA_CONSOLE_PORT",
}

# glibc gives each thread that allocates an arena of its own (up to 8 per core): a service's librdkafka and worker
# threads then hold many mostly-empty arenas. Two keep the RSS down at no measurable cost (docs/benchmarks.md).
LEAN_ENV = {"MALLOC_ARENA_MAX": "2"}


def wait_until_ready(url: str, alive: Callable[[], bool], timeout: float, path: str = "/readyz") -> bool:
    """Poll `url` + `path` until it answers 200 (True), the process dies or the time is up (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            if httpx.get(f"{url}{path}", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


class ServiceProcess:
    """`python -m services.SERVICE` on `port`; with a role (all, worker, http) as CCPA_SERVICE_ROLE, and a replica
    name for its log file when several replicas of one service run side by side."""

    def __init__(self, service: str, env: dict[str, str], port: int, log_dir: Path, role: str | None = None,
                 replica: str | None = None) -> None:  # fmt: skip
        self.service = service
        self.env = {**LEAN_ENV, **env, PORT_VARIABLES[service]: str(port),
                    **({"CCPA_SERVICE_ROLE": role} if role else {})}  # fmt: skip
        self.port = port
        self.role = role
        self.log_file = log_dir / f"{replica or service}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(
        self, extra_env: dict[str, str] | None = None, wait: bool = True, timeout: float = 60.0
    ) -> ServiceProcess:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as sink:
            self.process = subprocess.Popen(
                self.command(),
                env={**self.env, **(extra_env or {})},
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        if wait:
            self.wait_ready(timeout)
        return self

    def command(self) -> list[str]:
        return [sys.executable, "-m", f"services.{self.service}"]

    def wait_ready(self, timeout: float = 60.0) -> None:
        if not wait_until_ready(self.url, self.running, timeout):
            state = f"exited with {self.returncode()}" if not self.running() else f"not ready after {timeout:.0f}s"
            raise RuntimeError(f"{self.service} {state}:\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.service} was not started"
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def returncode(self) -> int | None:
        return self.process.poll() if self.process else None

    def wait_exit(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM: the service drains (relay, consumer commit) and exits."""
        if self.process is None:  # never started (a pipeline whose start failed part-way)
            return
        self._signal(signal.SIGTERM)
        try:
            self.wait_exit(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: a crash, nothing drains."""
        self._signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(10)

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_file.exists():
            return "(no log)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def _signal(self, sig: signal.Signals) -> None:
        if self.running():
            assert self.process is not None
            os.kill(self.process.pid, sig)


class SubscriberProcess(ServiceProcess):
    """The reference downstream subscriber: no HTTP port, ready as soon as it runs."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path, gated_flows: tuple[str, ...] = ()) -> None:
        super().__init__("optout", env, 0, log_dir)
        self.name = name
        self.log_file = log_dir / f"downstream-{name}.log"
        self.gated_flows = gated_flows

    def start(self, extra_env: dict[str, str] | None = None, wait: bool = True, timeout: float = 60.0
              ) -> ServiceProcess:  # fmt: skip
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.optout.subscriber", "--name", self.name,
                 *(("--gated-flows", ",".join(self.gated_flows)) if self.gated_flows else ())],
                env={**self.env, **(extra_env or {})}, stdout=sink, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        return self


class ProviderProcess(ServiceProcess):
    """A demo service provider's privacy API (devtools/demo/providers.py) on its own port."""

    def __init__(self, name: str, env: dict[str, str], port: int, data: Path, log_dir: Path) -> None:
        super().__init__("optout", env, port, log_dir)
        self.env = dict(env)
        self.name = name
        self.data = data
        self.log_file = log_dir / f"provider-{name}.log"

    def start(self, extra_env: dict[str, str] | None = None, wait: bool = True, timeout: float = 60.0
              ) -> ServiceProcess:  # fmt: skip
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "devtools.demo.providers", "--name", self.name, "--port", str(self.port),
                   "--data", str(self.data)]  # fmt: skip
        with self.log_file.open("ab") as sink:
            self.process = subprocess.Popen(command, env={**self.env, **(extra_env or {})}, stdout=sink,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)  # fmt: skip
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.running():
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"provider {self.name} did not start:\n{self.log_tail()}")


class AllInOneProcess(ServiceProcess):
    """`ccpa serve all`: the services of `parts` in one process, each on its part's port with its part's own
    settings (given as CCPA_<SERVICE>__<VARIABLE> where they differ from the shared environment `env`)."""

    def __init__(self, parts: list[ServiceProcess], env: dict[str, str], log_dir: Path) -> None:
        super().__init__(parts[0].service, env, parts[0].port, log_dir, replica="all-in-one")
        self.parts = parts
        self.env = all_in_one_env({**LEAN_ENV, **env}, parts)

    def command(self) -> list[str]:
        return [sys.executable, "-m", "services.common.allinone"]

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        for part in self.parts:
            if not wait_until_ready(part.url, self.running, max(deadline - time.monotonic(), 1.0)):
                state = f"exited with {self.returncode()}" if not self.running() else f"{part.service} not ready"
                raise RuntimeError(f"all-in-one {state}:\n{self.log_tail()}")


def all_in_one_env(shared: dict[str, str], parts: list[ServiceProcess]) -> dict[str, str]:
    """The shared environment, each part's own differing entries as CCPA_<SERVICE>__<VARIABLE>, and the list."""
    env = {**shared, "CCPA_ALL_IN_ONE_SERVICES": ",".join(part.service for part in parts)}
    for part in parts:
        prefix = f"CCPA_{part.service.upper()}__"
        env |= {f"{prefix}{name}": value for name, value in part.env.items() if shared.get(name) != value}
    return env
