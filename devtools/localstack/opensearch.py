"""A real single-node OpenSearch on loopback, from Maven Central jars: no Docker engine, no distribution tarball.

org.opensearch:opensearch plus its HTTP module (transport-netty4-client) and analysis-common are fetched with `mvn`
once per machine (devtools/localstack/opensearch/pom.xml); a small launcher (opensearch/LocalNode.java, compiled with
javac once) subclasses `org.opensearch.node.Node` with those modules as classpath plugins, as OpenSearch's own test
framework does. The node binds 127.0.0.1 only (so the production bootstrap checks do not apply), runs by PID with a
small heap and keeps its data in the folder it is given. Not served on Maven Central: the reindex module, so the
node has no _delete_by_query (the store erases by document id).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

from devtools.localstack.kafka_jars import default_cache_dir, file_lock, maven_copy_command, output_tail
from devtools.localstack.ports import LOOPBACK, LocalStackError, PidServer, free_ports, launch

OPENSEARCH_VERSION = "2.19.6"  # the newest line that runs on Java 17
LAUNCHER_DIR = Path(__file__).resolve().parent / "opensearch"
DEFAULT_HEAP = "384m"
_MAVEN_TIMEOUT_S = 900
_MARKER = "LocalNode"


def fetch_opensearch(cache_dir: Path | None = None, version: str = OPENSEARCH_VERSION) -> Path:
    """The folder holding the node's jars (libs/) and the compiled launcher (classes/), built once per machine."""
    root = (cache_dir or default_cache_dir()) / f"opensearch-{version}"
    marker = root / "fetched.ok"
    if marker.exists():
        return root
    for tool in ("mvn", "javac", "java"):
        if shutil.which(tool) is None:
            raise LocalStackError(f"cannot run a local OpenSearch: `{tool}` not found on PATH "
                                  "(apt-get install -y maven openjdk-17-jdk-headless)")  # fmt: skip
    root.mkdir(parents=True, exist_ok=True)
    with file_lock(root / ".lock"):
        if not marker.exists():
            _build(root, version)
            marker.write_text(f"org.opensearch:opensearch:{version}\n")
    return root


def _build(root: Path, version: str) -> None:
    libs, classes = root / "libs", root / "classes"
    for folder in (libs, classes):
        shutil.rmtree(folder, ignore_errors=True)
    fetch = maven_copy_command(LAUNCHER_DIR / "pom.xml", libs, {"opensearch.version": version})
    compile_ = ["javac", "-d", str(classes), "-cp", f"{libs}/*", str(LAUNCHER_DIR / "LocalNode.java")]
    for command in (fetch, compile_):
        result = subprocess.run(command, capture_output=True, text=True, timeout=_MAVEN_TIMEOUT_S, check=False)
        if result.returncode != 0:
            tail = output_tail(result)
            raise LocalStackError(f"`{command[0]}` failed for OpenSearch {version} (exit {result.returncode}):\n{tail}")


class OpenSearchServer(PidServer):
    """One OpenSearch node on 127.0.0.1 with its PID, port, log and data in `base_dir`; stopped by PID."""

    def __init__(self, base_dir: Path, port: int | None = None, heap: str = DEFAULT_HEAP,
                 version: str = OPENSEARCH_VERSION) -> None:  # fmt: skip
        super().__init__(base_dir, "opensearch", _MARKER, 9200, port)
        self.heap = heap
        self.version = version

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 120) -> None:
        """Start the node in its own session; wait until the cluster health is at least yellow."""
        if self.is_running():
            return
        root = fetch_opensearch(version=self.version)
        home = self.base_dir / "home"
        (home / "config").mkdir(parents=True, exist_ok=True)
        (self.base_dir / "data").mkdir(parents=True, exist_ok=True)
        http_port, transport_port = (self._requested_port, free_ports(1)[0]) if self._requested_port else free_ports(2)
        command = [
            "java", f"-Xms{self.heap}", f"-Xmx{self.heap}", "-XX:+UseSerialGC", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LAUNCHER_DIR / 'log4j2.properties'}",
            f"-Dccpa.opensearch.log={self.log_file}",
            "-cp", f"{root / 'libs'}/*:{root / 'classes'}", _MARKER,
            str(home), str(self.base_dir / "data"), str(http_port), str(transport_port),
        ]  # fmt: skip
        launch(command, _MARKER, self.pid_file, self.port_file, http_port, lambda: _healthy(http_port), timeout,
               self.log_file, self.stop)  # fmt: skip

    def stop(self, timeout: float = 30) -> None:
        super().stop(timeout)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/_cluster/health", timeout=2) as response:
            return json.load(response).get("status") in ("green", "yellow")
    except (OSError, ValueError):
        return False
