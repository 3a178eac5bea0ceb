"""Throwaway MariaDB servers on loopback from the Debian package (mariadb-install-db, mariadbd), and existing ones.

The MySQL/MariaDB dialect of SQL stores is tested against a real server here, as PostgreSQL and SQLite are. The
server listens on 127.0.0.1 only, keeps nothing durable (throwaway), and speaks utf8mb4. Administration goes over
its unix socket as the OS user (root runs the server as the `mysql` user, which the package creates); clients get
a password user over TCP, so the URL is what a service would be given.
"""

from __future__ import annotations

import getpass
import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pymysql
from sqlalchemy.engine import make_url

from devtools.localstack.ports import (
    LOOPBACK,
    LocalStackError,
    free_port,
    launch,
    prepare_server_dir,
    read_pid,
    recorded_pid,
    server_account,
    terminate,
)

INSTALL_HINT = "install MariaDB's server package (apt-get install -y mariadb-server)"
SERVER_OS_USER = "mysql"
CLIENT_USER = "ccpa"
_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_MAX_SOCKET_PATH = 107
# Durability and instrumentation are pointless for a throwaway server; utf8mb4 as a real deployment would have it
# (--no-defaults would otherwise leave latin1).
_SERVER_OPTIONS = (
    "--skip-name-resolve",
    "--skip-log-bin",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--innodb-buffer-pool-size=64M",
    "--performance-schema=OFF",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_unicode_ci",
)


def find_mariadb_bin() -> tuple[Path, Path]:
    """(mariadbd, mariadb-install-db): $MARIADB_BINDIR, PATH, or the Debian package's folders."""
    folders = [Path(os.environ["MARIADB_BINDIR"])] if "MARIADB_BINDIR" in os.environ else []
    folders += [Path("/usr/sbin"), Path("/usr/bin")]
    found: dict[str, Path] = {}
    for tool in ("mariadbd", "mariadb-install-db"):
        on_path = shutil.which(tool)
        candidates = [Path(on_path)] if on_path else []
        candidates += [folder / tool for folder in folders]
        path = next((candidate for candidate in candidates if candidate.exists()), None)
        if path is None:
            raise LocalStackError(f"MariaDB's `{tool}` not found: {INSTALL_HINT}")
        found[tool] = path
    return found["mariadbd"], found["mariadb-install-db"]


class ExistingMariaDB:
    """A server someone else runs, given as an SQLAlchemy URL of a user with rights to create databases."""

    def __init__(self, admin_url: str) -> None:
        self._admin_url = make_url(admin_url).set(drivername="mysql+pymysql")

    def url(self, database: str = "") -> str:
        return self._admin_url.set(database=database or None).render_as_string(hide_password=False)

    def create_database(self, name: str) -> str:
        """Create database `name` (utf8mb4) and return its SQLAlchemy URL."""
        self._admin_execute(f"CREATE DATABASE `{_checked(name)}` CHARACTER SET utf8mb4")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._admin_execute(f"DROP DATABASE IF EXISTS `{_checked(name)}`")

    def _admin_execute(self, statement: str) -> None:
        with pymysql.connect(**self._admin_connect_args(), autocommit=True, connect_timeout=10) as connection:
            connection.cursor().execute(statement)

    def _admin_connect_args(self) -> dict[str, Any]:
        url = self._admin_url
        return {"host": url.host or LOOPBACK, "port": url.port or 3306, "user": url.username,
                "password": url.password or ""}  # fmt: skip


class MariaDBServer(ExistingMariaDB):
    """mariadbd in `base_dir`/data on 127.0.0.1, socket and log in `base_dir`, a password user for clients."""

    def __init__(self, base_dir: Path, port: int | None = None) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.data_dir = self.base_dir / "data"
        self.socket = self.base_dir / "mariadb.sock"
        self.log_file = self.base_dir / "mariadb.log"
        self.pid_file = self.base_dir / "mariadbd.pid"
        self.port_file = self.base_dir / "mariadb.port"
        self.password_file = self.base_dir / "client-password"
        self._requested_port = port

    @property
    def port(self) -> int:
        """The port of the running server (the requested one when stopped; 3306 if none)."""
        recorded = read_pid(self.port_file) if self.is_running() else None
        return recorded or self._requested_port or 3306

    def url(self, database: str = "") -> str:
        password = self.password_file.read_text().strip() if self.password_file.exists() else ""
        return f"mysql+pymysql://{CLIENT_USER}:{password}@{LOOPBACK}:{self.port}/{database}"

    def pid(self) -> int | None:
        return recorded_pid(self.pid_file, "mariadbd")

    def is_running(self) -> bool:
        return self.pid() is not None

    def start(self, timeout: float = 60) -> None:
        """Install the system tables once, start on a free loopback port, create the client user."""
        if self.is_running():
            return
        mariadbd, install_db = find_mariadb_bin()
        prepare_server_dir(self.base_dir, SERVER_OS_USER, INSTALL_HINT)
        if len(str(self.socket)) > _MAX_SOCKET_PATH:
            raise LocalStackError(f"unix socket path {self.socket} is too long: use a shorter base folder")
        if not (self.data_dir / "mysql").is_dir():
            self._install_db(install_db)
        port = self._requested_port or free_port()
        command = [str(mariadbd), "--no-defaults", f"--datadir={self.data_dir}", f"--socket={self.socket}",
                   f"--bind-address={LOOPBACK}", f"--port={port}", f"--log-error={self.log_file}",
                   f"--pid-file={self.base_dir / 'mariadbd.server.pid'}", *_SERVER_OPTIONS,
                   *self._user_option()]  # fmt: skip
        launch(command, "mariadbd", self.pid_file, self.port_file, port, self._answers_socket, timeout, self.log_file,
               self.stop)  # fmt: skip
        self._create_client_user()

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM the recorded PID (a clean shutdown; SIGKILL after `timeout`) and remove the PID file."""
        pid = self.pid()
        if pid is not None:
            terminate(pid, timeout)
        self.pid_file.unlink(missing_ok=True)

    def _install_db(self, install_db: Path) -> None:
        command = [str(install_db), "--no-defaults", f"--datadir={self.data_dir}", "--skip-test-db",
                   "--auth-root-authentication-method=socket", *self._user_option()]  # fmt: skip
        if os.geteuid() != 0:  # the second unix_socket admin account is the OS user who runs the tests
            command.append(f"--auth-root-socket-user={getpass.getuser()}")
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()[-3000:]
            raise LocalStackError(f"mariadb-install-db failed (exit {result.returncode}):\n{output}")

    def _create_client_user(self) -> None:
        if not self.password_file.exists():
            self.password_file.write_text(secrets.token_hex(16) + "\n")
            self.password_file.chmod(0o600)
        password = self.password_file.read_text().strip()
        with self._socket_connection() as connection:
            cursor = connection.cursor()
            cursor.execute(f"CREATE USER IF NOT EXISTS '{CLIENT_USER}'@'{LOOPBACK}' IDENTIFIED BY %s", (password,))
            cursor.execute(f"ALTER USER '{CLIENT_USER}'@'{LOOPBACK}' IDENTIFIED BY %s", (password,))
            cursor.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{CLIENT_USER}'@'{LOOPBACK}' WITH GRANT OPTION")

    def _admin_execute(self, statement: str) -> None:
        with self._socket_connection() as connection:
            connection.cursor().execute(statement)

    def _answers_socket(self) -> bool:
        try:
            with self._socket_connection():
                return True
        except pymysql.err.OperationalError:
            return False

    def _socket_connection(self) -> pymysql.connections.Connection[Any]:
        # unix_socket authentication: the OS user (root, or whoever runs the tests) is the server's own admin.
        user = "root" if os.geteuid() == 0 else getpass.getuser()
        return pymysql.connect(unix_socket=str(self.socket), user=user, autocommit=True, connect_timeout=5)

    @staticmethod
    def _user_option() -> list[str]:
        if os.geteuid() != 0:
            return []
        server_account(SERVER_OS_USER, INSTALL_HINT)
        return [f"--user={SERVER_OS_USER}"]


def _checked(name: str) -> str:
    if not _DATABASE_NAME.match(name):
        raise LocalStackError(f"database name {name!r} must match {_DATABASE_NAME.pattern}")
    return name
