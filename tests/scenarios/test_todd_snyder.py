"""Todd Snyder (CPPA order 2025-05, $345,178): the consent management platform was misconfigured for **40 days**: the
consent banner vanished instantly, so opt-outs were impossible and **GPC was not recognised**; it required a
government-ID photo for requests including opt-outs; it relied on a vendor tool without validating it
(https://www.venable.com/insights/publications/2025/05/retailer-todd-snyder-fined-for-ccpa-violations). Test scenario
(ccpa-requirements.md §7): synthetic monitoring, a scheduled end-to-end job proving that GPC actually suppresses the
tags, with an alert on regression.

Here `ccpa monitor gpc` (a headless system Chromium with GPC on, as a separate process like a scheduled job) passes on
the demo storefront and catches its --broken variant (the GPC middleware removed, the tags loaded directly): exit 1
with one line per failure, and the alert metric file says not ok with the leaked tag requests counted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devtools.demo.generator import DATAMAP_PATH
from tests.e2e.demo_world import World
from tests.scenarios.storefront import Site

pytestmark = [pytest.mark.e2e]


def monitor(world: World, url: str, metrics: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "services.cli", "monitor", "gpc", url, "--datamap", str(DATAMAP_PATH),
               "--metrics-file", str(metrics)]  # fmt: skip
    return subprocess.run(command, env=world.pipeline.env, capture_output=True, text=True, timeout=120)


def test_the_monitor_passes_on_the_storefront_and_its_metric_says_ok(
        scenario_world: World, storefront: Site, tmp_path: Path) -> None:  # fmt: skip
    metrics = tmp_path / "gpc.prom"
    run = monitor(scenario_world, f"{storefront.url}/", metrics)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith(f"ok {storefront.url}: no sale/sharing tag with GPC on")
    text = metrics.read_text()
    assert f'ccpa_gpc_monitor_ok{{site="{storefront.url}"}} 1.0' in text
    assert f'ccpa_gpc_monitor_leaked_tag_requests{{site="{storefront.url}"}} 0.0' in text


def test_the_monitor_catches_the_broken_storefront_and_the_alert_metric_says_so(
        scenario_world: World, broken_storefront: Site, tag_host: Site, tmp_path: Path) -> None:  # fmt: skip
    metrics = tmp_path / "gpc.prom"
    run = monitor(scenario_world, f"{broken_storefront.url}/", metrics)
    assert run.returncode == 1, run.stdout + run.stderr
    failures = run.stderr.strip().splitlines()
    assert failures == [
        f"FAIL {broken_storefront.url}: with GPC on, the page loaded the adreach-pixel tag (a sale/sharing flow): "
        f"{tag_host.url}/adreach/pixel.js",
        f'FAIL {broken_storefront.url}: the page does not say "Opt-Out Request Honored" with GPC on (§7025(c)(6))',
    ]
    text = metrics.read_text()
    assert f'ccpa_gpc_monitor_ok{{site="{broken_storefront.url}"}} 0.0' in text
    leaked = next(line for line in text.splitlines() if line.startswith("ccpa_gpc_monitor_leaked_tag_requests{"))
    assert float(leaked.rsplit(" ", 1)[1]) >= 2  # the pixel's script and its beacon
