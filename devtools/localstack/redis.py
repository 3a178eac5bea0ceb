"""A Redis server on loopback from the Debian package, run in the foreground by PID; without persistence unless
asked (the local stack keeps its session cache across restarts in an RDB snapshot)."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from devtools.localstack.ports import (
    LOOPBACK,
    LocalStackError,
    PidServer,
    free_port,
    launch,
)

INSTALL_HINT = "install it with apt-get install -y redis-server"


def find_redis_server() -> str:
    """Path of the redis-server binary, or an error saying how to install it."""
    path = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if path is None:
        raise LocalStackError(f"`redis-server` not found on PATH: {INSTALL_HINT}")
    return path


class RedisServer(PidServer):
    """redis-server on 127.0.0.1 with its PID, port and log in `base_dir`; `persistent`: an RDB snapshot there, written
    a minute after a change and when stopped (a snapshot holds only what is current, unlike an append-only file)."""

    def __init__(self, base_dir: Path, port: int | None = None, persistent: bool = False) -> None:
        super().__init__(base_dir, "redis", "redis-server", 6379, port)
        self.persistent = persistent

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self, timeout: float = 15) -> None:
        """Start redis-server (no AOF; an RDB only when persistent) in its own session; wait until it answers PING."""
        if self.is_running():
            return
        binary = find_redis_server()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        port = self._requested_port or free_port()
        command = [
            binary, "--bind", LOOPBACK, "--port", str(port), "--save", "60 1" if self.persistent else "",
            "--appendonly", "no",
            "--daemonize", "no", "--dir", str(self.base_dir), "--logfile", str(self.log_file),
        ]  # fmt: skip
        launch(command, "redis-server", self.pid_file, self.port_file, port, lambda: _answers_ping(port), timeout,
               self.log_file, self.stop)  # fmt: skip


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False
