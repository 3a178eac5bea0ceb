"""Real Apache Kafka (KRaft) on loopback: jars fetched from Maven Central with `mvn`, no Docker engine.

One combined broker+controller node, or three for a replicated cluster; see DESIGN.md §7. PLAINTEXT unless
started `secured` (SASL_SSL, SCRAM-SHA-512 and ACLs: devtools/localstack/kafka_security.py).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from devtools.localstack.kafka_jars import (
    DEFAULT_KAFKA_VERSION,
    KAFKA_DEPLOY_DIR,
    default_cache_dir,
    fetch_kafka_jars,
    require_tools,
)
from devtools.localstack.kafka_security import BrokerSecurity, new_password
from devtools.localstack.ports import (
    LOOPBACK,
    LocalStackError,
    describe_exit,
    free_ports,
    is_port_free,
    log_tail,
    recorded_pid,
    terminate,
    wait_for_exec,
    write_pid,
)

# Laptop-sized: a local broker holding the pipeline's topics peaks well under this (docs/benchmarks.md, "Memory
# and the scale run"); CCPA_KAFKA_HEAP raises the ceiling, CCPA_KAFKA_HEAP_MIN the heap it starts with.
DEFAULT_HEAP = "256m"
DEFAULT_HEAP_MIN = "64m"
JVM_FLAGS = ["-XX:+UseG1GC", "-Djava.awt.headless=true"]
LOG4J_CONFIG = KAFKA_DEPLOY_DIR / "log4j2.properties"
_STATE_FILE = "cluster.json"

log = logging.getLogger(__name__)


def new_cluster_id() -> str:
    """A KRaft cluster id: a random UUID as unpadded base64url, never starting with '-' (as Kafka's own)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


@dataclass(frozen=True)
class KafkaNode:
    """One combined broker+controller process and its folder."""

    index: int
    port: int
    controller_port: int
    directory: Path

    @property
    def node_id(self) -> int:
        return self.index + 1

    @property
    def properties_file(self) -> Path:
        return self.directory / "server.properties"

    @property
    def pid_file(self) -> Path:
        return self.directory / "kafka.pid"

    @property
    def server_log(self) -> Path:
        return self.directory / "server.log"

    @property
    def console_log(self) -> Path:
        return self.directory / "console.log"

    @property
    def is_formatted(self) -> bool:
        return (self.directory / "data" / "meta.properties").exists()

    def pid(self) -> int | None:
        """The PID of this node's live JVM, or None."""
        return recorded_pid(self.pid_file, str(self.properties_file))


@dataclass(frozen=True)
class _ClusterState:
    """What must survive restarts: the formatted storage belongs to this id and controller quorum."""

    cluster_id: str
    brokers: int
    port: int
    controller_ports: list[int]
    admin_password: str | None = None  # set: the cluster is secured (SASL_SSL, ACLs), formatted with this admin

    @classmethod
    def load(cls, path: Path) -> _ClusterState | None:
        return cls(**json.loads(path.read_text())) if path.exists() else None

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=2) + "\n")


class KafkaCluster:
    """A KRaft cluster of `brokers` combined nodes under `base_dir`; broker i listens on `port` + i."""

    def __init__(
        self,
        base_dir: Path,
        brokers: int = 1,
        port: int = 9092,
        version: str = DEFAULT_KAFKA_VERSION,
        cache_dir: Path | None = None,
        heap: str | None = None,
        secured: bool = False,
    ) -> None:
        if brokers < 1:
            raise LocalStackError(f"brokers must be at least 1, got {brokers}")
        self.base_dir = Path(base_dir).resolve()
        self.version = version
        self.cache_dir = (cache_dir or default_cache_dir()).resolve()
        self.heap = heap or os.environ.get("CCPA_KAFKA_HEAP", DEFAULT_HEAP)
        self.heap_min = os.environ.get("CCPA_KAFKA_HEAP_MIN", DEFAULT_HEAP_MIN)
        self._state = self._load_or_create_state(brokers, port, secured)
        password = self._state.admin_password
        self.security = BrokerSecurity(password, self.base_dir / "tls") if password else None

    @classmethod
    def from_dir(cls, base_dir: Path, version: str = DEFAULT_KAFKA_VERSION) -> KafkaCluster:
        """The cluster recorded in `base_dir` by an earlier start, with its brokers and ports."""
        state = _ClusterState.load(Path(base_dir) / _STATE_FILE)
        if state is None:
            raise LocalStackError(f"no Kafka cluster recorded in {base_dir} (missing {_STATE_FILE})")
        secured = state.admin_password is not None
        return cls(base_dir, brokers=state.brokers, port=state.port, version=version, secured=secured)

    @staticmethod
    def exists_in(base_dir: Path) -> bool:
        return (Path(base_dir) / _STATE_FILE).exists()

    def _load_or_create_state(self, brokers: int, port: int, secured: bool) -> _ClusterState:
        state = _ClusterState.load(self.base_dir / _STATE_FILE)
        if state is not None and state.brokers != brokers:
            raise LocalStackError(
                f"{self.base_dir} holds a {state.brokers}-broker cluster, not {brokers}: "
                "use another folder or delete this one"
            )
        if state is not None and (state.admin_password is not None) != secured:
            kind = "a secured" if state.admin_password else "a PLAINTEXT"
            raise LocalStackError(f"{self.base_dir} holds {kind} cluster: use another folder or delete this one")
        if state is None:
            reserved = set(range(port, port + brokers))
            controller_ports = [p for p in free_ports(brokers + len(reserved)) if p not in reserved][:brokers]
            return _ClusterState(new_cluster_id(), brokers, port, controller_ports, new_password() if secured else None)
        return _ClusterState(state.cluster_id, brokers, port, state.controller_ports, state.admin_password)

    @property
    def nodes(self) -> list[KafkaNode]:
        state = self._state
        return [
            KafkaNode(i, state.port + i, state.controller_ports[i], self.base_dir / f"node-{i}")
            for i in range(state.brokers)
        ]

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"{LOOPBACK}:{node.port}" for node in self.nodes)

    def admin_config(self) -> dict[str, str]:
        """Client settings of the cluster's admin: bootstrap only, or the super user's SASL_SSL login."""
        secured = self.security.client_config() if self.security else {}
        return {"bootstrap.servers": self.bootstrap_servers, **secured}

    def pids(self) -> dict[int, int | None]:
        """Node index -> PID of its live JVM (None when that node is down)."""
        return {node.index: node.pid() for node in self.nodes}

    def is_running(self) -> bool:
        return all(pid is not None for pid in self.pids().values())

    def start(self, timeout: float = 60) -> None:
        """Format storage once, start every node that is down and wait until all brokers answer."""
        libs = fetch_kafka_jars(self.cache_dir, self.version)
        require_tools("java")
        down = [node for node in self.nodes if node.pid() is None]
        if not down:
            return
        self._prepare(down, libs)
        launched = {node: self._launch(node, libs) for node in down}
        try:
            self._wait_ready(launched, timeout)
        except LocalStackError:
            self._stop_nodes(down, timeout=10)
            raise

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM every recorded node PID, SIGKILL what is left after `timeout`, remove PID files."""
        self._stop_nodes(self.nodes, timeout)

    def stop_broker(self, index: int, timeout: float = 30) -> None:
        self._stop_nodes([self.nodes[index]], timeout)

    def start_broker(self, index: int, timeout: float = 60) -> None:
        """Restart node `index` and wait until the whole cluster answers again."""
        node = self.nodes[index]
        if node.pid() is not None:
            return
        libs = fetch_kafka_jars(self.cache_dir, self.version)
        self._prepare([node], libs)
        self._wait_ready({node: self._launch(node, libs)}, timeout)

    def _prepare(self, nodes: list[KafkaNode], libs: Path) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._state.save(self.base_dir / _STATE_FILE)
        (self.base_dir / _STATE_FILE).chmod(0o600)  # the admin's password, when secured
        for node in nodes:
            if not is_port_free(node.port):
                raise LocalStackError(f"port {node.port} on {LOOPBACK} is in use: choose another base port")
            node.directory.mkdir(parents=True, exist_ok=True)
            node.properties_file.write_text(self._server_properties(node))
            node.properties_file.chmod(0o600)
        self._format([node for node in nodes if not node.is_formatted], libs)

    def _server_properties(self, node: KafkaNode) -> str:
        replication = min(self._state.brokers, 3)
        min_isr = max(1, replication - 1)
        voters = ",".join(f"{n.node_id}@{LOOPBACK}:{n.controller_port}" for n in self.nodes)
        settings = {
            "process.roles": "broker,controller",
            "node.id": node.node_id,
            "controller.quorum.voters": voters,
            **self._listeners(node),
            "log.dirs": node.directory / "data",
            "default.replication.factor": replication,
            "min.insync.replicas": min_isr,
            "offsets.topic.replication.factor": replication,
            "transaction.state.log.replication.factor": replication,
            "transaction.state.log.min.isr": min_isr,
            "share.coordinator.state.topic.replication.factor": replication,
            "share.coordinator.state.topic.min.isr": min_isr,
            "group.initial.rebalance.delay.ms": 0,
            # Topics are declared in code and created on purpose; a typo must fail, not create a stray topic.
            "auto.create.topics.enable": "false",
            # Faster unfencing after (re)start; the 9 s session timeout stays the default.
            "broker.heartbeat.interval.ms": 500,
        }
        return "".join(f"{key}={value}\n" for key, value in settings.items())

    def _listeners(self, node: KafkaNode) -> dict[str, object]:
        if self.security:
            return self.security.listeners(node.port, node.controller_port, LOOPBACK)
        return {
            "listeners": f"PLAINTEXT://{LOOPBACK}:{node.port},CONTROLLER://{LOOPBACK}:{node.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{node.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        }

    def _format(self, nodes: list[KafkaNode], libs: Path) -> None:
        """Format each node's storage with the cluster id, in parallel (one JVM start each)."""
        command = ["java", *self._jvm_logging(), "-cp", f"{libs}/*", "kafka.tools.StorageTool", "format",
                   *(self.security.format_args() if self.security else [])]  # fmt: skip
        running = [
            (node, subprocess.Popen(
                [*command, f"--cluster-id={self._state.cluster_id}", f"--config={node.properties_file}"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            ))
            for node in nodes
        ]  # fmt: skip
        for node, process in running:
            output, _ = process.communicate(timeout=120)
            if process.returncode != 0:
                raise LocalStackError(f"formatting Kafka storage of node {node.index} failed:\n{output[-3000:]}")

    def _jvm_logging(self, node: KafkaNode | None = None) -> list[str]:
        """Log4j flags: a node logs to its server.log, the storage formatter to <base_dir>/format.log."""
        target = (
            [f"-Dkafka.logs.dir={node.directory}"]
            if node
            else [f"-Dkafka.logs.dir={self.base_dir}", "-Dkafka.log.file=format.log"]
        )
        return [f"-Dlog4j2.configurationFile={LOG4J_CONFIG}", *target]

    def _launch(self, node: KafkaNode, libs: Path) -> subprocess.Popen[bytes]:
        command = [
            "java", f"-Xmx{self.heap}", f"-Xms{self.heap_min}", *JVM_FLAGS,
            *self._jvm_logging(node), "-cp", f"{libs}/*", "kafka.Kafka", str(node.properties_file),
        ]  # fmt: skip
        with node.console_log.open("ab") as console:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                cwd=node.directory, start_new_session=True,
            )  # fmt: skip
        wait_for_exec(process, str(node.properties_file))
        write_pid(node.pid_file, process.pid)
        log.info("started Kafka node %d (pid %d) on %s:%d", node.index, process.pid, LOOPBACK, node.port)
        return process

    def _wait_ready(self, started: dict[KafkaNode, subprocess.Popen[bytes]], timeout: float) -> None:
        """Wait until metadata lists every broker; fail fast when a started JVM dies."""
        admin = AdminClient({**self.admin_config(), "log_level": 0})
        expected = {node.node_id for node in self.nodes}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive(started)
            if expected <= self._registered_brokers(admin):
                return
            time.sleep(0.2)
        raise LocalStackError(
            f"Kafka at {self.bootstrap_servers} did not list brokers {sorted(expected)} within {timeout}s\n"
            + "\n".join(self._logs(node) for node in started)
        )

    def _check_alive(self, started: dict[KafkaNode, subprocess.Popen[bytes]]) -> None:
        for node, process in started.items():
            if (returncode := process.poll()) is not None:
                exit_text = describe_exit(returncode)
                raise LocalStackError(f"Kafka node {node.index} {exit_text} during start-up\n{self._logs(node)}")

    @staticmethod
    def _registered_brokers(admin: AdminClient) -> set[int]:
        try:
            return set(admin.list_topics(timeout=2).brokers)
        except KafkaException:
            return set()

    @staticmethod
    def _logs(node: KafkaNode) -> str:
        return (
            f"--- {node.server_log} (tail) ---\n{log_tail(node.server_log)}\n"
            f"--- {node.console_log} (tail) ---\n{log_tail(node.console_log, 15)}"
        )

    def _stop_nodes(self, nodes: list[KafkaNode], timeout: float) -> None:
        """SIGTERM all first so the nodes shut down together, then wait for (or kill) each."""
        pids = {node.index: node.pid() for node in nodes}
        for pid in pids.values():
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for node in nodes:
            pid = pids[node.index]
            if pid is not None:
                terminate(pid, max(0.0, deadline - time.monotonic()))
                log.info("stopped Kafka node %d (pid %d)", node.index, pid)
            node.pid_file.unlink(missing_ok=True)
