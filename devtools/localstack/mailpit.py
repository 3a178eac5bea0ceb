"""Mailpit on loopback: a real SMTP server that keeps what it receives, with a web page showing the mails and a JSON
API the tests read them from. Built once per machine from its Go module source, its web page with npm, run by PID."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from devtools.localstack.kafka_jars import default_cache_dir
from devtools.localstack.ports import (
    LOOPBACK,
    LocalStackError,
    free_ports,
    launch,
    read_pid,
    recorded_pid,
    terminate,
)

MAILPIT_MODULE = "github.com/axllent/mailpit"
MAILPIT_VERSION = "v1.33.1"
# The module's web page (server/ui/dist) is not in the module: it is built with npm from the module's package.json.
# Its package-lock.json pins versions the npm registry here does not all serve (sass-embedded 1.108.1), so the
# build resolves from package.json; and no rapidoc 12 is served (Mailpit's API-docs page): 9.3.8 builds it.
NPM_PINS = {"dependencies.rapidoc": "^9.3.8"}


def mailpit_binary(cache_dir: Path | None = None) -> Path:
    """Where the built binary lives: <cache>/mailpit-<version>-ui/mailpit."""
    return (cache_dir or default_cache_dir()) / f"mailpit-{MAILPIT_VERSION}-ui" / "mailpit"


def build_mailpit(cache_dir: Path | None = None) -> Path:
    """Build Mailpit with its web page into the cache (once per machine; a minute or two the first time): the Go
    module's source from the Go module proxy, its page with npm (esbuild), then `go build`."""
    binary = mailpit_binary(cache_dir)
    if binary.exists():
        return binary
    go = _tool("go", "/usr/local/go/bin/go", "Mailpit is built from its Go module; install Go (golang-go)")
    npm = _tool("npm", "/usr/bin/npm", "Mailpit's web page is built with npm; install Node.js and npm")
    env = {**os.environ, "GOFLAGS": "-mod=mod"}
    module = json.loads(_run([go, "mod", "download", "-json", f"{MAILPIT_MODULE}@{MAILPIT_VERSION}"], None, env))
    binary.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mailpit-build-", dir=binary.parent.parent) as scratch:
        source = Path(scratch) / "src"
        shutil.copytree(module["Dir"], source)  # the module cache is read-only
        for path in [source, *source.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
        (source / "package-lock.json").unlink(missing_ok=True)
        for key, value in NPM_PINS.items():
            _run([npm, "pkg", "set", f"{key}={value}"], source, env)
        _run([npm, "install", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], source, env)
        _run([npm, "run", "package"], source, env)
        flags = f"-s -w -X {MAILPIT_MODULE}/config.Version={MAILPIT_VERSION}"
        _run([go, "build", "-ldflags", flags, "-o", str(binary), "."], source, env)
    return binary


def _tool(name: str, fallback: str, hint: str) -> str:
    path = shutil.which(name) or (fallback if Path(fallback).exists() else None)
    if path is None:
        raise LocalStackError(f"`{name}` not found on PATH: {hint}")
    return path


def _run(command: list[str], cwd: Path | None, env: dict[str, str]) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LocalStackError(f"building Mailpit {MAILPIT_VERSION}: `{' '.join(command[:3])}` failed:\n"
                              f"{(result.stderr or result.stdout)[-2000:]}")  # fmt: skip
    return result.stdout


@dataclass(frozen=True)
class Mail:
    """One received message as the tests see it."""

    id: str
    sender: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str
    headers: dict[str, list[str]]


class MailServer:
    """Mailpit with its PID, ports and log in `base_dir`: SMTP on `smtp_port`, the viewer and API on `http_port`."""

    def __init__(self, base_dir: Path, smtp_port: int | None = None, http_port: int | None = None) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.pid_file = self.base_dir / "mailpit.pid"
        self.port_file = self.base_dir / "mailpit.port"  # the SMTP port; the HTTP port in mailpit.http-port
        self.http_port_file = self.base_dir / "mailpit.http-port"
        self.log_file = self.base_dir / "mailpit.log"
        self._requested = (smtp_port, http_port)

    @property
    def smtp_port(self) -> int:
        return (read_pid(self.port_file) if self.is_running() else None) or self._requested[0] or 1025

    @property
    def http_port(self) -> int:
        return (read_pid(self.http_port_file) if self.is_running() else None) or self._requested[1] or 8025

    @property
    def web_url(self) -> str:
        """The page showing the mails (and the base of the JSON API)."""
        return f"http://{LOOPBACK}:{self.http_port}"

    def pid(self) -> int | None:
        return recorded_pid(self.pid_file, "mailpit")

    def is_running(self) -> bool:
        return self.pid() is not None

    def start(self, timeout: float = 15) -> None:
        """Build if needed, start in its own session (messages in memory), wait until the API answers."""
        if self.is_running():
            return
        binary = build_mailpit()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        ports = iter(free_ports(2))
        smtp_port = self._requested[0] or next(ports)
        http_port = self._requested[1] or next(ports)
        self.http_port_file.write_text(f"{http_port}\n")
        command = [
            str(binary), "--smtp", f"{LOOPBACK}:{smtp_port}", "--listen", f"{LOOPBACK}:{http_port}",
            "--smtp-auth-accept-any", "--smtp-auth-allow-insecure", "--disable-version-check", "--max", "5000",
            "--quiet",
        ]  # fmt: skip
        launch(command, "mailpit", self.pid_file, self.port_file, smtp_port, lambda: self._answers(http_port),
               timeout, self.log_file, self.stop)  # fmt: skip

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM the recorded PID (SIGKILL after `timeout`) and remove the PID file."""
        pid = self.pid()
        if pid is not None:
            terminate(pid, timeout)
        self.pid_file.unlink(missing_ok=True)

    def messages(self, to: str | None = None) -> list[Mail]:
        """Every message received (newest first), or those sent to `to`, read in full from the API."""
        query = {"query": f"to:{to}"} if to else {}
        path = "/api/v1/search" if to else "/api/v1/messages"
        listing = self._get(path, params={**query, "limit": "500"})
        return [self.message(summary["ID"]) for summary in listing.get("messages") or []]

    def message(self, message_id: str) -> Mail:
        body = self._get(f"/api/v1/message/{message_id}")
        headers = self._get(f"/api/v1/message/{message_id}/headers")
        return Mail(
            id=message_id,
            sender=body["From"]["Address"],
            to=tuple(address["Address"] for address in body.get("To") or []),
            subject=body.get("Subject", ""),
            text=body.get("Text", ""),
            html=body.get("HTML", ""),
            headers=headers,
        )

    def clear(self) -> None:
        """Delete every message (between tests that count them)."""
        httpx.delete(f"{self.web_url}/api/v1/messages", timeout=10).raise_for_status()

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        response = httpx.get(f"{self.web_url}{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    @staticmethod
    def _answers(http_port: int) -> bool:
        try:
            return httpx.get(f"http://{LOOPBACK}:{http_port}/api/v1/info", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False
