"""Apache Kafka's runtime jars for the local broker: fetched from Maven Central with `mvn` once per machine."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from devtools.localstack.ports import LocalStackError

DEFAULT_KAFKA_VERSION = "4.4.0"
REPO_ROOT = Path(__file__).resolve().parents[2]
KAFKA_DEPLOY_DIR = REPO_ROOT / "deploy" / "local" / "kafka"
_FETCHED_MARKER = "fetched.ok"
_MAVEN_TIMEOUT_S = 900
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")

log = logging.getLogger(__name__)

_INSTALL_HINTS = {
    "mvn": "install Maven (apt-get install -y maven)",
    "java": "install a Java 17+ runtime (apt-get install -y default-jre-headless)",
}


def default_cache_dir() -> Path:
    """Where fetched jars live: $CCPA_LOCAL_CACHE, else <repo>/.local/cache (fetched once per machine)."""
    return Path(os.environ.get("CCPA_LOCAL_CACHE", REPO_ROOT / ".local" / "cache"))


def require_tools(*names: str) -> None:
    """Raise naming every tool in `names` that is not on PATH and how to install it."""
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        hints = "; ".join(f"`{name}` not found on PATH: {_INSTALL_HINTS.get(name, 'install it')}" for name in missing)
        raise LocalStackError(f"cannot run a local Kafka broker: {hints}")


def fetch_kafka_jars(cache_dir: Path, version: str = DEFAULT_KAFKA_VERSION) -> Path:
    """The folder of kafka_2.13:`version` runtime jars, fetched with mvn once and reused afterwards."""
    libs = cache_dir / f"kafka-{version}" / "libs"
    marker = libs.parent / _FETCHED_MARKER
    if marker.exists() and libs.is_dir():
        return libs
    require_tools("mvn", "java")
    libs.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(libs.parent / ".lock"):
        if not (marker.exists() and libs.is_dir()):
            marker.unlink(missing_ok=True)
            _copy_dependencies(libs, version)
            marker.write_text(f"org.apache.kafka:kafka_2.13:{version}\n")
    return libs


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Serialise fetches across processes (parallel test sessions share one cache)."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _copy_dependencies(libs: Path, version: str) -> None:
    staging = libs.with_name("libs.partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(libs, ignore_errors=True)
    command = maven_copy_command(KAFKA_DEPLOY_DIR / "pom.xml", staging, {"kafka.version": version})
    log.info("fetching kafka_2.13:%s jars with mvn into %s", version, libs)
    result = subprocess.run(command, capture_output=True, text=True, timeout=_MAVEN_TIMEOUT_S, check=False)
    if result.returncode != 0 or not (staging / f"kafka_2.13-{version}.jar").exists():
        tail = output_tail(result)
        raise LocalStackError(
            f"mvn could not fetch org.apache.kafka:kafka_2.13:{version} (exit {result.returncode}); "
            f"last lines of its output:\n{tail}"
        )
    staging.rename(libs)


def maven_copy_command(pom: Path, output: Path, properties: dict[str, str]) -> list[str]:
    """mvn copying the runtime dependencies of `pom` (with `properties` set) into `output`, quiet and colourless."""
    return ["mvn", "-q", "-B", "-Dstyle.color=never", "-f", str(pom), "dependency:copy-dependencies",
            "-DincludeScope=runtime", f"-DoutputDirectory={output}",
            *(f"-D{name}={value}" for name, value in properties.items())]  # fmt: skip


def output_tail(result: subprocess.CompletedProcess[str], lines: int = 25) -> str:
    """The last non-blank lines of a tool's output, without colour codes, for an error message."""
    output = _ANSI_ESCAPE.sub("", result.stdout + result.stderr)
    return "\n".join(line for line in output.splitlines()[-lines:] if line.strip())
