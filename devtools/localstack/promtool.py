"""Prometheus's `promtool`, to check the alert rules: the one on PATH, else Debian's `prometheus` package fetched
with `apt-get download` and unpacked with `dpkg -x` into the local cache (no root, once per machine)."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import tempfile
from pathlib import Path

from devtools.localstack.kafka_jars import default_cache_dir
from devtools.localstack.ports import LocalStackError

PACKAGE = "prometheus"
_TIMEOUT_S = 600


def promtool(cache_dir: Path | None = None) -> Path:
    """The path of a working promtool; raises LocalStackError naming what is missing when none can be had."""
    on_path = shutil.which("promtool")
    if on_path:
        return Path(on_path)
    root = (cache_dir or default_cache_dir()) / PACKAGE
    binary = root / "usr" / "bin" / "promtool"
    if binary.is_file():
        return binary
    root.mkdir(parents=True, exist_ok=True)
    with (root.parent / f"{PACKAGE}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs fetching at once unpack it once
        if not binary.is_file():
            _fetch(root)
    if not binary.is_file():
        raise LocalStackError(f"the {PACKAGE} package has no usr/bin/promtool")
    return binary


def _fetch(root: Path) -> None:
    for tool in ("apt-get", "dpkg"):
        if shutil.which(tool) is None:
            raise LocalStackError(f"promtool is not on PATH and {tool} is missing to fetch it: install prometheus")
    with tempfile.TemporaryDirectory() as download_dir:
        _run(["apt-get", "download", PACKAGE], cwd=download_dir)
        package = next(Path(download_dir).glob(f"{PACKAGE}_*.deb"), None)
        if package is None:
            raise LocalStackError(f"apt-get download {PACKAGE} left no .deb file")
        _run(["dpkg", "-x", str(package), str(root)], cwd=download_dir)


def _run(command: list[str], cwd: str) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise LocalStackError(f"{' '.join(command)} failed: {last}")
