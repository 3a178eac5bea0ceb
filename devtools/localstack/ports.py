"""Loopback ports and PID-file bookkeeping shared by the local Kafka, PostgreSQL and Redis servers."""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

LOOPBACK = "127.0.0.1"


class LocalStackError(RuntimeError):
    """A local server could not be fetched, started or stopped; the message says what to do."""


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port on `host` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """`count` distinct free ports, held open together so none is handed out twice."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in sockets:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def free_port_block(count: int, host: str = LOOPBACK, attempts: int = 50) -> int:
    """First port of `count` consecutive free ports (broker i listens on base + i)."""
    for _ in range(attempts):
        base = free_port(host)
        if base + count <= 65535 and all(is_port_free(base + i, host) for i in range(count)):
            return base
    raise LocalStackError(f"found no {count} consecutive free ports on {host} after {attempts} attempts")


def is_port_free(port: int, host: str = LOOPBACK) -> bool:
    """Whether a server could listen on `port` now (TIME_WAIT leftovers of a stopped one do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; returns whether it held."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def write_pid(pid_file: Path, pid: int) -> None:
    pid_file.write_text(f"{pid}\n")


def read_pid(pid_file: Path) -> int | None:
    """The PID recorded in `pid_file`, or None when the file is missing or unreadable."""
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def pid_alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie counts as gone; our own dead children are reaped here)."""
    with contextlib.suppress(ChildProcessError, OSError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def pid_command_line(pid: int) -> str:
    """The command line of `pid` as one string ('' when it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def recorded_pid(pid_file: Path, command_marker: str) -> int | None:
    """The live PID in `pid_file` whose command line contains `command_marker` (guards PID reuse)."""
    pid = read_pid(pid_file)
    if pid is None or not pid_alive(pid) or command_marker not in pid_command_line(pid):
        return None
    return pid


def wait_for_exec(process: subprocess.Popen[bytes], command_marker: str, timeout: float = 10) -> None:
    """Wait until the new process shows its own command line (it lags Popen's return) or has exited."""
    wait_until(
        lambda: process.poll() is not None or command_marker in pid_command_line(process.pid),
        timeout,
        interval=0.01,
    )


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with code {returncode}"


def terminate(pid: int, timeout: float) -> None:
    """SIGTERM `pid`, wait up to `timeout` seconds, then SIGKILL it and wait for it to go."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if wait_until(lambda: not pid_alive(pid), wait, interval=0.1):
            return
    raise LocalStackError(f"process {pid} survived SIGKILL")


def log_tail(path: Path, lines: int = 40) -> str:
    """The last `lines` lines of a log file, or a note that it does not exist."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def launch(command: list[str], name: str, pid_file: Path, port_file: Path, port: int, ready: Callable[[], bool],
           timeout: float, log_file: Path, stop: Callable[[], None]) -> None:  # fmt: skip
    """Start a server in its own session, record its PID and port, and wait until `ready()` or it exits."""
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    wait_for_exec(process, name)
    write_pid(pid_file, process.pid)
    port_file.write_text(f"{port}\n")
    if not wait_until(lambda: ready() or process.poll() is not None, timeout):
        stop()
        raise LocalStackError(f"{name} on port {port} did not answer in {timeout:g}s\n{log_tail(log_file)}")
    if process.poll() is not None:
        raise LocalStackError(f"{name} {describe_exit(process.returncode)}\n{log_tail(log_file)}")


def server_account(os_user: str, install_hint: str) -> pwd.struct_passwd:
    """The OS account a server that refuses to run as root runs as (its Debian package creates it)."""
    try:
        return pwd.getpwnam(os_user)
    except KeyError:
        raise LocalStackError(
            f"running it as root needs the {os_user!r} OS user, which {install_hint} creates"
        ) from None


def prepare_server_dir(base_dir: Path, os_user: str, install_hint: str) -> None:
    """Create `base_dir`; as root, give it to `os_user` and check that user can write there."""
    base_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return
    account = server_account(os_user, install_hint)
    os.chown(base_dir, account.pw_uid, account.pw_gid)
    if subprocess.run(["runuser", "-u", os_user, "--", "test", "-w", str(base_dir)], check=False).returncode != 0:
        raise LocalStackError(
            f"the {os_user!r} OS user cannot write {base_dir}: every parent folder must be searchable by others "
            "(choose a folder under /tmp or the repository's .local)"
        )


class PidServer:
    """A server on loopback run in the foreground by PID: its PID, port and log files in `base_dir` (named after
    `stem`), the port it runs on (else the one asked for, else `default_port`), and stop by PID."""

    def __init__(self, base_dir: Path, stem: str, command_marker: str, default_port: int, port: int | None) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.pid_file = self.base_dir / f"{stem}.pid"
        self.port_file = self.base_dir / f"{stem}.port"
        self.log_file = self.base_dir / f"{stem}.log"
        self._command_marker = command_marker
        self._default_port = default_port
        self._requested_port = port

    @property
    def port(self) -> int:
        """The port of the running server (the requested one when stopped; the default if none)."""
        recorded = read_pid(self.port_file) if self.is_running() else None
        return recorded or self._requested_port or self._default_port

    def pid(self) -> int | None:
        return recorded_pid(self.pid_file, self._command_marker)

    def is_running(self) -> bool:
        return self.pid() is not None

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM the recorded PID (SIGKILL after `timeout`) and remove the PID file."""
        pid = self.pid()
        if pid is not None:
            terminate(pid, timeout)
        self.pid_file.unlink(missing_ok=True)
