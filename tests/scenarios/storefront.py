"""The web half of the scenario world: the demo tag host (records every tag request), the demo storefront behind the
tag gate and its --broken variant (Todd Snyder), and one Chromium for the package. Their ports are reserved before
the pipeline starts, so intake's CORS (CCPA_TAG_GATE_ORIGINS) and every data map's DEMO_TAG_HOST name them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser

from devtools.local.process import wait_until_ready
from devtools.localstack.ports import free_port
from tests.browser import running_browser
from tests.e2e.demo_world import World

__all__ = ["broken_storefront", "shop_browser", "storefront", "stranded_storefront", "tag_host", "web_ports"]


@dataclass(frozen=True)
class WebPorts:
    tag_host: int
    storefront: int
    broken: int

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}"


class Site:
    """A demo web process (the tag host or a storefront) on loopback."""

    def __init__(self, name: str, command: list[str], port: int, log_dir: Path) -> None:
        self.name, self.command, self.port = name, command, port
        self.log_file = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Site:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as sink:
            self.process = subprocess.Popen([sys.executable, "-m", *self.command], stdout=sink,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)  # fmt: skip
        if not wait_until_ready(self.url, lambda: self.process is not None and self.process.poll() is None, 30,
                                "/healthz"):  # fmt: skip
            raise RuntimeError(f"{self.name} did not start:\n{self.log_file.read_text(errors='replace')[-3000:]}")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)

    def hits(self) -> list[dict[str, Any]]:
        """The tag host's record of every tag request it received."""
        hits: list[dict[str, Any]] = httpx.get(f"{self.url}/hits", timeout=5).json()
        return hits


@pytest.fixture(scope="session", autouse=True)
def web_ports() -> Iterator[WebPorts]:
    """Reserved before the scenario world starts: the services' environment names the tag host and the storefronts."""
    ports = WebPorts(free_port(), free_port(), free_port())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEMO_TAG_HOST", ports.url(ports.tag_host))
        patch.setenv("CCPA_TAG_GATE_ORIGINS", json.dumps([ports.url(ports.storefront), ports.url(ports.broken)]))
        yield ports


@pytest.fixture(scope="session")
def tag_host(web_ports: WebPorts, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    site = Site("tag-host", ["devtools.demo.taghost", "--port", str(web_ports.tag_host)], web_ports.tag_host,
                tmp_path_factory.mktemp("web-logs")).start()  # fmt: skip
    yield site
    site.stop()


def _storefront(name: str, port: int, intake_url: str, tag_host: Site, log_dir: Path, *extra: str) -> Site:
    command = ["devtools.demo.storefront", "--port", str(port), "--intake-url", intake_url, "--tag-host",
               tag_host.url, *extra]  # fmt: skip
    return Site(name, command, port, log_dir).start()


@pytest.fixture(scope="session")
def storefront(scenario_world: World, tag_host: Site, web_ports: WebPorts,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:  # fmt: skip
    site = _storefront("storefront", web_ports.storefront, scenario_world.pipeline.intake.url, tag_host,
                       tmp_path_factory.mktemp("shop"))  # fmt: skip
    yield site
    site.stop()


@pytest.fixture(scope="session")
def broken_storefront(scenario_world: World, tag_host: Site, web_ports: WebPorts,
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:  # fmt: skip
    site = _storefront("storefront-broken", web_ports.broken, scenario_world.pipeline.intake.url, tag_host,
                       tmp_path_factory.mktemp("broken-shop"), "--broken")  # fmt: skip
    yield site
    site.stop()


@pytest.fixture(scope="session")
def stranded_storefront(scenario_world: World, tag_host: Site,
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:  # fmt: skip
    """The storefront whose decision endpoint does not answer (intake still serves the gate): it must fail closed."""
    site = _storefront("storefront-stranded", free_port(), scenario_world.pipeline.intake.url, tag_host,
                       tmp_path_factory.mktemp("stranded-shop"), "--decisions-url",
                       f"http://127.0.0.1:{free_port()}/v1/tags/decisions")  # fmt: skip
    yield site
    site.stop()


@pytest.fixture(scope="package")
def shop_browser() -> Iterator[Browser]:
    """One Chromium for the scenario package (package scope: see tests/browser.py)."""
    with running_browser() as browser:
        yield browser
