"""`ccpa monitor gpc URL`: a headless Chromium with Global Privacy Control on visits the site; it fails when a sale or
sharing tag of the data map leaves the page, or when the page (or --lookup-url) does not say "Opt-Out Request
Honored". Exit codes: 0 all holds, 1 a check failed (one line per failure), 2 the monitor itself could not run.
With --metrics-file it writes the alert metrics as a node-exporter textfile (docs/monitor.md)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, NoReturn
from urllib.parse import urlsplit

import typer
from prometheus_client import CollectorRegistry, write_to_textfile
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.datamap import DataMapError, load_datamap
from services.common.metrics import GPC_MONITOR_CHECKED, GPC_MONITOR_LEAKS, GPC_MONITOR_OK
from services.monitor.browser import BrowserUnavailable, visit_with_gpc
from services.monitor.checks import Verdict, judge, opt_out_tags

EXIT_FAILED = 1
EXIT_CANNOT_RUN = 2
monitor_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                          help="Synthetic monitoring: check the site honours GPC as a browser sees it")  # fmt: skip


class MonitorSettings(BaseSettings):
    """The browser the monitor drives and the data map whose tags it looks for."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)
    chromium_path: str = Field("/usr/bin/chromium", validation_alias="CCPA_CHROMIUM_PATH",
                               description="The system Chromium executable (never a downloaded browser)")  # fmt: skip
    datamap_path: Path = Field(Path("devtools/demo/datamap.yaml"), validation_alias="CCPA_DATAMAP")


def site_of(url: str) -> str:
    """The metric label: scheme and host of the site, nothing of its path or query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def write_metrics(path: Path, site: str, verdict: Verdict | None) -> None:
    """The alert metrics as a textfile (written whole, then renamed, so node-exporter never reads half of it)."""
    registry = CollectorRegistry()
    for gauge in (GPC_MONITOR_OK, GPC_MONITOR_LEAKS, GPC_MONITOR_CHECKED):
        registry.register(gauge)
    GPC_MONITOR_OK.labels(site).set(1 if verdict is not None and verdict.ok else 0)
    GPC_MONITOR_LEAKS.labels(site).set(len(verdict.leaks) if verdict is not None else 0)
    GPC_MONITOR_CHECKED.labels(site).set(time.time())
    write_to_textfile(str(path), registry)


@monitor_app.command("gpc")
def monitor_gpc(
    url: Annotated[str, typer.Argument(metavar="URL", help="The page to visit (a product page carrying tags)")],
    datamap: Annotated[
        Path | None, typer.Option("--datamap", metavar="FILE", help="The data map (default CCPA_DATAMAP)")
    ] = None,
    lookup_url: Annotated[
        str | None,
        typer.Option(metavar="URL", help=('Where "Opt-Out Request Honored" must show instead of the page itself')),
    ] = None,
    metrics_file: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help=("Write ccpa_gpc_monitor_* here (node-exporter textfile collector, *.prom)")),
    ] = None,
    timeout: Annotated[float, typer.Option(min=1.0, metavar="SECONDS", help="Per page load")] = 30.0,
) -> None:
    """Visit URL with GPC on: no sale/sharing tag request may leave the page, and it must say it honoured GPC."""
    settings = MonitorSettings()
    site = site_of(url)
    if not url.startswith(("http://", "https://")):
        _cannot_run(f"URL must start with http:// or https://, got {site or 'something else'}", metrics_file, site)
    try:
        tags = opt_out_tags(load_datamap(datamap or settings.datamap_path))
    except (DataMapError, OSError) as exc:
        _cannot_run(f"the data map could not be read: {str(exc).splitlines()[0]}", metrics_file, site)
    try:
        visit = visit_with_gpc(url, settings.chromium_path, timeout, lookup_url)
    except BrowserUnavailable as exc:
        _cannot_run(str(exc), metrics_file, site)
    except Exception as exc:  # Playwright's own errors: the page did not load
        _cannot_run(f"the page did not load: {str(exc).splitlines()[0]}", metrics_file, site)
    verdict = judge(visit, tags)
    if metrics_file is not None:
        write_metrics(metrics_file, site, verdict)
    for failure in verdict.failures:
        typer.echo(f"FAIL {site}: {failure}", err=True)
    if not verdict.ok:
        raise typer.Exit(EXIT_FAILED)
    typer.echo(f"ok {site}: no sale/sharing tag with GPC on ({len(visit.requests)} requests), honoured shown")


def _cannot_run(reason: str, metrics_file: Path | None, site: str) -> NoReturn:
    """A monitor that cannot look has not seen the site honour GPC: the metric says not ok."""
    if metrics_file is not None:
        write_metrics(metrics_file, site, None)
    typer.echo(f"monitor could not run: {reason}", err=True)
    raise typer.Exit(EXIT_CANNOT_RUN)
