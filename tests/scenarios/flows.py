"""What the flow scenarios share (DoorDash, Healthline): the advertising network as a loopback HTTP sink recording
what arrives, the demo's gated jobs run as their commands against the scenario world, and the timeline waits."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from devtools.demo.generator import DATAMAP_PATH, demo_env
from tests.e2e.demo_world import World
from tests.support import wait_for


@dataclass
class AdNetworkSink:
    """A loopback stand-in for the advertising network: every JSON body posted to it, with its path."""

    url: str = ""
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [body for at, body in self.received if at == path]


@pytest.fixture(scope="session")
def ad_network() -> Iterator[AdNetworkSink]:
    sink = AdNetworkSink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            sink.received.append((self.path, json.loads(body or b"{}")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()


def job_env(world: World, **overrides: str) -> dict[str, str]:
    """The environment a product job of the demo company runs with: the pipeline's settings, the demo stores."""
    return {**world.pipeline.env, **demo_env(world.target), "CCPA_DATAMAP": str(DATAMAP_PATH), **overrides}


def run_module(world: World, module: str, *args: str, env: dict[str, str] | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """`python -m module args...` as the demo company runs it."""
    return subprocess.run([sys.executable, "-m", module, *args], env=env or job_env(world), capture_output=True,
                          text=True, timeout=timeout, check=False)  # fmt: skip


def entries_of(world: World, request_id: str, event_type: str, minimum: int = 1,
               timeout: float = 60) -> list[dict[str, Any]]:  # fmt: skip
    """The request's timeline entries of this type, once there are `minimum` of them."""

    def found() -> list[dict[str, Any]] | None:
        entries = [entry for entry in world.timeline(request_id) if entry["event_type"] == event_type]
        return entries if len(entries) >= minimum else None

    return wait_for(found, timeout=timeout, what=f"{minimum} {event_type} on the timeline of {request_id}")


def blocked_entry(world: World, request_id: str, *, gate: str | None = None, flow: str | None = None,
                  probe: bool = False, timeout: float = 60) -> dict[str, Any]:  # fmt: skip
    """The first FlowBlocked entry on the request's timeline from this gate (or for this flow), waited for."""

    def matches(entry: dict[str, Any]) -> bool:
        details = entry.get("details") or {}
        if entry["event_type"] != "FlowBlocked" or bool(details.get("probe")) is not probe:
            return False
        return (gate is None or details.get("gate") == gate) and (flow is None or details.get("flow") == flow)

    def found() -> dict[str, Any] | None:
        return next((entry for entry in world.timeline(request_id) if matches(entry)), None)

    return wait_for(found, timeout=timeout, what=f"a FlowBlocked ({gate or flow}) on the timeline of {request_id}")


def assert_effect_story(entries: list[dict[str, Any]]) -> None:
    """An opt-out's timeline reads in order: received, applied, acknowledged, then the flows it blocked."""
    types = [entry["event_type"] for entry in entries]
    received, applied = types.index("RequestSubmitted"), types.index("OptOutApplied")
    acknowledged = types.index("OptOutAcknowledged")
    blocked = [at for at, kind in enumerate(types) if kind == "FlowBlocked"]
    assert blocked and received < applied < acknowledged < min(blocked), types


def subscriber_emails(world: World) -> list[str]:
    """The demo marketing list's emails, in order."""
    from devtools.demo.coop_export import subscribers

    return [row["email"] for row in subscribers(world.target.marketing_db_url)]


def csv_emails(path: Path) -> set[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {line.split(",")[0].lower() for line in lines[1:]}
