"""`ccpa discover scan`: sample every store of the data map and report personal information it does not describe.

On a terminal the tables take its width (or --width); piped or redirected, each table is tab-separated lines.
Exit codes: 0 the scan ran (findings or not), 1 a store could not be reached or a collection read, 2 a bad data map.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from dotenv import dotenv_values
from rich.console import Console

from services.common.datamap import DataMapError, load_datamap
from services.common.terminal import EnvFileOption, WidthOption, output_console, tab_separated
from services.discovery.scanner.model import ScanOptions, result_json
from services.discovery.scanner.patch import suggested_patch
from services.discovery.scanner.render import RichProgress, show
from services.discovery.scanner.scan import scan

__all__ = ["discover_scan", "output_console", "tab_separated"]
EXIT_INCOMPLETE = 1
EXIT_BAD_DATAMAP = 2


def discover_scan(
    datamap: Annotated[
        Path, typer.Option("--datamap", metavar="FILE", help="The data map (YAML) whose stores to scan")
    ],
    json_file: Annotated[
        Path | None, typer.Option("--json", metavar="FILE", help="Write the result as JSON (docs/scanner.md)")
    ] = None,
    patch_file: Annotated[
        Path | None, typer.Option("--patch", metavar="FILE", help="Write a suggested data-map patch (YAML)")
    ] = None,
    sample_rows: Annotated[int, typer.Option(min=1, metavar="N", help="Rows sampled per SQL table")] = 1000,
    redis_keys: Annotated[int, typer.Option(min=1, metavar="N", help="Keys sampled per Redis store")] = 2000,
    log_lines: Annotated[int, typer.Option(min=1, metavar="N", help="Lines read per log stream")] = 5000,
    threshold: Annotated[
        float, typer.Option(min=0.0, max=1.0, metavar="SHARE", help="Share of values that must match")
    ] = 0.2,
    text_threshold: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, metavar="SHARE", help="Share of free-text values that must contain a kind"),
    ] = 0.05,
    env_file: EnvFileOption = None,
    width: WidthOption = None,
) -> None:
    """Find personal information the data map does not describe: every table and column, Redis keys, log lines."""
    console = output_console(width)
    errors = Console(stderr=True)
    try:
        loaded = load_datamap(datamap, _environment(env_file))
    except DataMapError as exc:
        errors.print(str(exc), highlight=False, markup=False)
        raise typer.Exit(EXIT_BAD_DATAMAP) from None
    options = ScanOptions(sample_rows, redis_keys, log_lines, min_ratio=threshold, text_ratio=text_threshold)
    with RichProgress(errors) as progress:
        result = scan(loaded, options, source=str(datamap), progress=progress)
    show(result, console)
    if json_file:
        _write(json_file, json.dumps(result_json(result), indent=2) + "\n", "JSON result", console)
    if patch_file:
        _write(patch_file, suggested_patch(result, loaded), "Suggested data-map patch", console)
    if result.incomplete:
        raise typer.Exit(EXIT_INCOMPLETE)


def _write(path: Path, text: str, what: str, console: Console) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        Console(stderr=True).print(f"cannot write {path}: {exc.strerror}", highlight=False, markup=False)
        raise typer.Exit(EXIT_BAD_DATAMAP) from None
    console.print(f"{what}: {path}", highlight=False, markup=False)


def _environment(env_file: Path | None) -> dict[str, str]:
    environment = dict(os.environ)
    if env_file is None:
        return environment
    if not env_file.is_file():
        raise DataMapError(str(env_file), ["the --env-file does not exist"])
    environment.update({key: value for key, value in dotenv_values(env_file).items() if value is not None})
    return environment
