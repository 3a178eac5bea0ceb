"""Throwaway PostgreSQL clusters on loopback from the Debian packages (initdb, pg_ctl), and existing servers.

Runs the server as the `postgres` OS user when we are root, because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from abc import ABC, abstractmethod
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from devtools.localstack.ports import (
    LOOPBACK,
    LocalStackError,
    free_port,
    log_tail,
    prepare_server_dir,
    recorded_pid,
    server_account,
    terminate,
    wait_until,
)

INSTALL_HINT = "install PostgreSQL's server package (apt-get install -y postgresql)"
SERVER_OS_USER = "postgres"
SUPERUSER = "postgres"
_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_MAX_SOCKET_PATH = 107
# Durability is pointless for a throwaway cluster; these make DDL-heavy tests much faster.
_SERVER_SETTINGS = {
    "listen_addresses": f"'{LOOPBACK}'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


def find_pg_bin() -> Path:
    """The folder with initdb/pg_ctl/postgres: $PG_BINDIR, the newest /usr/lib/postgresql/*/bin, or PATH."""
    candidates = [Path(os.environ["PG_BINDIR"])] if "PG_BINDIR" in os.environ else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_major_version, reverse=True)
    on_path = shutil.which("initdb")
    candidates += [Path(on_path).parent] if on_path else []
    for folder in candidates:
        if all((folder / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    raise LocalStackError(f"PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: {INSTALL_HINT}")


def _major_version(bin_dir: Path) -> int:
    return int(bin_dir.parent.name) if bin_dir.parent.name.isdigit() else 0


class DatabaseServer(ABC):
    """A PostgreSQL server that hands out SQLAlchemy URLs and creates or drops databases."""

    @abstractmethod
    def url(self, database: str = "postgres") -> str: ...

    def create_database(self, name: str) -> str:
        """Create database `name` and return its SQLAlchemy URL."""
        self._admin_execute("CREATE DATABASE {}", name)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._admin_execute("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)

    def _admin_execute(self, statement: str, name: str) -> None:
        if not _DATABASE_NAME.match(name):
            raise LocalStackError(f"database name {name!r} must match {_DATABASE_NAME.pattern}")
        conninfo = make_url(self.url()).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as connection:
            connection.execute(sql.SQL(statement).format(sql.Identifier(name)))


class ExistingPostgres(DatabaseServer):
    """A server someone else runs, given as an SQLAlchemy URL with rights to create databases."""

    def __init__(self, admin_url: str) -> None:
        self._admin_url = make_url(admin_url).set(drivername="postgresql+psycopg")

    def url(self, database: str = "postgres") -> str:
        return self._admin_url.set(database=database).render_as_string(hide_password=False)


class PostgresServer(DatabaseServer):
    """A PostgreSQL cluster in `base_dir`/data, on 127.0.0.1 only, trust auth, socket in the data folder."""

    def __init__(self, base_dir: Path, port: int | None = None) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.data_dir = self.base_dir / "data"
        self.log_file = self.base_dir / "postgres.log"
        self._requested_port = port

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "postmaster.pid"

    @property
    def port(self) -> int:
        """The port of the running server (the requested one when stopped; 5432 if none)."""
        lines = self.pid_file.read_text().splitlines() if self.pid() else []
        return int(lines[3]) if len(lines) > 3 else self._requested_port or 5432

    def pid(self) -> int | None:
        """The postmaster's PID, or None when it is not running."""
        return recorded_pid(self.pid_file, str(self.data_dir))

    def is_running(self) -> bool:
        return self.pid() is not None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@{LOOPBACK}:{self.port}/{database}"

    def start(self, timeout: float = 30) -> None:
        """initdb once, start on a free loopback port and wait until it accepts connections."""
        if self.is_running():
            return
        bin_dir = find_pg_bin()
        prepare_server_dir(self.base_dir, SERVER_OS_USER, INSTALL_HINT)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(bin_dir)
        port = self._requested_port or free_port()
        self._check_socket_path(port)
        options = f"-p {port} -k {self.data_dir}"
        self._run(bin_dir / "pg_ctl", "start", "-w", "-t", str(int(timeout)), "-D", str(self.data_dir),
                  "-l", str(self.log_file), "-o", options)  # fmt: skip
        if not wait_until(self._accepts_connections, timeout):
            raise LocalStackError(f"PostgreSQL on port {port} does not accept connections\n{log_tail(self.log_file)}")

    def stop(self, timeout: float = 30) -> None:
        """pg_ctl stop -m fast; then SIGTERM/SIGKILL the recorded postmaster PID if it is still there."""
        pid = self.pid()
        if pid is None:
            return
        pg_ctl = find_pg_bin() / "pg_ctl"
        stop = [str(pg_ctl), "stop", "-m", "fast", "-w", "-t", str(int(timeout)), "-D", str(self.data_dir)]
        subprocess.run(self._as_server_user(stop), capture_output=True, timeout=timeout + 10, check=False)
        terminate(pid, timeout=5)

    def _initdb(self, bin_dir: Path) -> None:
        self._run(bin_dir / "initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust",
                  "--encoding=UTF8", "--no-locale", "--no-sync")  # fmt: skip
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# ccpa localstack: loopback only, throwaway durability\n")
            conf.writelines(f"{key} = {value}\n" for key, value in _SERVER_SETTINGS.items())

    def _check_socket_path(self, port: int) -> None:
        socket_path = self.data_dir / f".s.PGSQL.{port}"
        if len(str(socket_path)) > _MAX_SOCKET_PATH:
            raise LocalStackError(f"unix socket path {socket_path} is too long: use a shorter base folder")

    def _accepts_connections(self) -> bool:
        try:
            with psycopg.connect(host=LOOPBACK, port=self.port, user=SUPERUSER, dbname="postgres", connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def _run(self, tool: Path, *args: str) -> None:
        command = self._as_server_user([str(tool), *args])
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()[-3000:]
            raise LocalStackError(
                f"{tool.name} failed (exit {result.returncode}):\n{output}\n{log_tail(self.log_file)}"
            )

    @staticmethod
    def _as_server_user(command: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return command
        server_account(SERVER_OS_USER, INSTALL_HINT)
        return ["runuser", "-u", SERVER_OS_USER, "--", *command]
