"""The whole local stack in the background: Kafka (unless KAFKA_BOOTSTRAP_SERVERS), Redis, Mailpit (the consumer
e-mails' SMTP server and viewer, unless CCPA_SMTP_HOST), the demo company's stores and provider servers, then every
service. The demo company is generated only when its stores are absent.

Logs go to .local/logs, PIDs to .local/pids; `down` stops exactly the recorded processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from devtools.demo.generator import DATAMAP_PATH, DemoCompany, DemoTarget, demo_env, existing_company, generate_company
from devtools.demo.vocab import BUSINESS_CONTACT
from devtools.local import secrets
from devtools.local.migrate import migrate_databases
from devtools.local.process import wait_until_ready
from devtools.local.stackenv import write_stack_env
from devtools.localstack.kafka import KafkaCluster
from devtools.localstack.mailpit import MailServer
from devtools.localstack.ports import describe_exit, recorded_pid, terminate, wait_until, write_pid
from devtools.localstack.redis import RedisServer
from services.deletion.providers.confirmations import CALLBACK_PATH

DEMO_SUBJECTS = int(os.environ.get("CCPA_DEMO_SUBJECTS", "5000"))


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port_variable: str
    default_port: int
    module: str = ""
    arguments: tuple[str, ...] = ()
    ready_path: str = "/readyz"

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", self.module or f"services.{self.name}", *self.arguments]

    @property
    def http(self) -> bool:
        return bool(self.port_variable)


# The demo company's two service providers (their privacy API), then the pipeline's services.
PROVIDERS = tuple(
    ServiceSpec(f"provider-{name}", f"DEMO_{name.upper()}_PORT", port, "devtools.demo.providers",
                ("--name", name, "--port", os.environ.get(f"DEMO_{name.upper()}_PORT", str(port)), "--data",
                 f"{{demo}}/providers/{name}.db"), ready_path="/healthz")
    for name, port in (("mailer", 8091), ("shipper", 8092))
)  # fmt: skip
TAG_HOST_PORT = os.environ.get("DEMO_TAG_HOST_PORT", "8090")
STOREFRONT_PORT = os.environ.get("DEMO_STOREFRONT_PORT", "8095")
# The demo storefront and the tag host its third-party tags come from (docs/flows.md, "Web pages: the tag gate").
WEB_DEMO = (
    ServiceSpec("demo-tag-host", "DEMO_TAG_HOST_PORT", 8090, "devtools.demo.taghost", ("--port", TAG_HOST_PORT),
                ready_path="/healthz"),
    ServiceSpec("demo-storefront", "DEMO_STOREFRONT_PORT", 8095, "devtools.demo.storefront",
                ("--port", STOREFRONT_PORT, "--tag-host", f"http://127.0.0.1:{TAG_HOST_PORT}", "--intake-url",
                 f"http://127.0.0.1:{os.environ.get('CCPA_INTAKE_PORT', 8000)}"), ready_path="/healthz"),
)  # fmt: skip
GATED = "adreach-events,adreach-audience,coop-export"  # the demo's server-side sale and sharing flows, probed
SERVICES = (
    *PROVIDERS,
    *WEB_DEMO,
    ServiceSpec("intake", "CCPA_INTAKE_PORT", 8000),
    ServiceSpec("audit", "CCPA_AUDIT_PORT", 8001),
    ServiceSpec("discovery", "CCPA_DISCOVERY_PORT", 8002),
    ServiceSpec("deletion", "CCPA_DELETION_PORT", 8003),
    ServiceSpec("optout", "CCPA_OPTOUT_PORT", 8004),
    ServiceSpec("console", "CCPA_CONSOLE_PORT", 8005),
    # It says it has caught up with the state topic by writing its ready file: `up` returns only then, so
    # states published right after (the demo's opt-out, then opt-in) are each acknowledged live.
    ServiceSpec(
        "downstream-adtech-sync",
        "",
        0,
        "services.optout.subscriber",
        ("--name", "adtech-sync", "--ready-file", "{pids}/downstream-adtech-sync.ready", "--gated-flows", GATED),
    ),
)


PIPELINE = ("intake", "audit", "discovery", "deletion", "optout", "console")
# `ccpa serve all` in place of the six: each service on the port it has in SERVICES; ready once the console is,
# since it starts last (services/common/allinone.py).
ALL_IN_ONE = ServiceSpec("all-in-one", "CCPA_CONSOLE_PORT", 8005, "services.common.allinone")
ALL_IN_ONE_VARIABLE = "CCPA_STACK_ALL_IN_ONE"


def all_in_one_chosen() -> bool:
    return os.environ.get(ALL_IN_ONE_VARIABLE, "").strip().lower() in {"1", "true", "yes", "on"}


def stack_specs(all_in_one: bool) -> tuple[ServiceSpec, ...]:
    """What the stack starts: every process of SERVICES, or with `all_in_one` the pipeline's six as one."""
    if not all_in_one:
        return SERVICES
    kept = [spec for spec in SERVICES if spec.name not in PIPELINE]
    at = next(i for i, spec in enumerate(SERVICES) if spec.name in PIPELINE)
    return (*kept[:at], ALL_IN_ONE, *kept[at:])


def demo_company(target: DemoTarget, subjects: int, regenerate: bool = False) -> DemoCompany:
    """The stack's demo company: kept when its stores are there, so a restart keeps what the pipeline deleted and
    corrected in them; generated when they are absent, or when asked to (`regenerate`)."""
    kept = None if regenerate else existing_company(target)
    return kept or generate_company(target, subjects, force=regenerate)


BACKGROUND_SETTLE_SECONDS = 2.0


class LocalStack:
    def __init__(self, root: Path, all_in_one: bool | None = None) -> None:
        self.root = root.resolve()
        self.specs = stack_specs(all_in_one_chosen() if all_in_one is None else all_in_one)
        self.logs = self.root / "logs"
        self.pids = self.root / "pids"
        self.demo: DemoCompany | None = None  # set by `environment`
        self.started: dict[str, subprocess.Popen[bytes]] = {}  # what this `up` started, to tell how one ended

    @property
    def kafka_dir(self) -> Path:
        return self.root / "kafka"

    def kafka_bootstrap(self) -> str:
        external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if external:
            return external
        cluster = self._kafka()
        cluster.start(timeout=90)
        return cluster.bootstrap_servers

    @property
    def redis(self) -> RedisServer:
        port = int(os.environ.get("CCPA_REDIS_PORT", "6390"))
        return RedisServer(self.root / "redis", port=port, persistent=True)  # the demo's sessions survive a restart

    @property
    def mail(self) -> MailServer:
        """Mailpit: SMTP on CCPA_MAILPIT_SMTP_PORT (1025), the mail viewer on CCPA_MAILPIT_PORT (8025)."""
        return MailServer(self.root / "mailpit", smtp_port=int(os.environ.get("CCPA_MAILPIT_SMTP_PORT", "1025")),
                          http_port=int(os.environ.get("CCPA_MAILPIT_PORT", "8025")))  # fmt: skip

    def mail_env(self) -> dict[str, str]:
        """Intake's mail server: the stack's Mailpit (started here), unless CCPA_SMTP_HOST names another."""
        if os.environ.get("CCPA_SMTP_HOST"):
            return {}
        server = self.mail
        server.start()
        return {"CCPA_SMTP_HOST": "127.0.0.1", "CCPA_SMTP_PORT": str(server.smtp_port), "CCPA_SMTP_SECURITY": "none"}

    def mail_viewer_url(self) -> str | None:
        """The page showing the mails sent to consumers, while the stack's Mailpit runs."""
        server = self.mail
        return server.web_url if server.is_running() else None

    def demo_target(self) -> DemoTarget:
        redis_url = os.environ.get("DEMO_REDIS_URL")
        if not redis_url:
            server = self.redis
            if not server.is_running():
                server.start()
            redis_url = server.url
        target = DemoTarget.in_directory(self.root / "demo", redis_url=redis_url)
        return replace(target, mailer_url=self._provider_url("mailer"), shipper_url=self._provider_url("shipper"))

    def _callback_url(self) -> str:
        """Where the demo providers POST their signed confirmations: the deletion service's receiver."""
        return f"http://127.0.0.1:{os.environ.get('CCPA_DELETION_PORT', 8003)}{CALLBACK_PATH}"

    def _provider_url(self, name: str) -> str:
        spec = next(s for s in PROVIDERS if s.name == f"provider-{name}")
        return self.url(spec)

    def environment(self, regenerate_demo: bool = False) -> dict[str, str]:
        target = self.demo_target()
        self.demo = demo_company(target, DEMO_SUBJECTS, regenerate_demo)
        identity_db = target.app_db_url.removeprefix("sqlite:///")
        return {
            **os.environ,
            **secrets.service_env(self.secrets()),
            **demo_env(target),
            "CCPA_DATAMAP": os.environ.get("CCPA_DATAMAP", str(DATAMAP_PATH)),
            "CCPA_DISCOVERY_DATABASE_URL": os.environ.get(
                "CCPA_DISCOVERY_DATABASE_URL", f"sqlite:///{self.root}/discovery.db"
            ),
            "CCPA_DISCOVERY_URL": f"http://127.0.0.1:{os.environ.get('CCPA_DISCOVERY_PORT', 8002)}",
            "CCPA_DELETION_DATABASE_URL": os.environ.get(
                "CCPA_DELETION_DATABASE_URL", f"sqlite:///{self.root}/deletion.db"
            ),
            # The demo's logs are searched through the log index (docs/log-index.md), kept beside the stack's state.
            "CCPA_LOG_INDEX_DIR": os.environ.get("CCPA_LOG_INDEX_DIR", str(self.root / "log-index")),
            "CCPA_PROVIDER_GRACE_SECONDS": os.environ.get("CCPA_PROVIDER_GRACE_SECONDS", "15"),
            "CCPA_PROVIDER_CALLBACK_URL": os.environ.get("CCPA_PROVIDER_CALLBACK_URL", self._callback_url()),
            "CCPA_PUBLIC_BASE_URL": f"http://127.0.0.1:{os.environ.get('CCPA_INTAKE_PORT', 8000)}",
            "CCPA_PRIVACY_CENTER_URL": f"http://127.0.0.1:{os.environ.get('CCPA_INTAKE_PORT', 8000)}/privacy/",
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap(),
            "CCPA_KEYSTORE_URL": os.environ.get("CCPA_KEYSTORE_URL", f"sqlite:///{self.root}/keystore.db"),
            "CCPA_INTAKE_DATABASE_URL": os.environ.get("CCPA_INTAKE_DATABASE_URL", f"sqlite:///{self.root}/intake.db"),
            "CCPA_AUDIT_DATABASE_URL": os.environ.get("CCPA_AUDIT_DATABASE_URL", f"sqlite:///{self.root}/audit.db"),
            "CCPA_IDENTITY_SOURCE_URL": os.environ.get("CCPA_IDENTITY_SOURCE_URL", f"sqlite:///{identity_db}"),
            # Job applicants are verified against the applications (app-db's job_applications), not the customers.
            "CCPA_APPLICANT_SOURCE_URL": os.environ.get("CCPA_APPLICANT_SOURCE_URL", target.app_db_url),
            "CCPA_OPTOUT_DATABASE_URL": os.environ.get("CCPA_OPTOUT_DATABASE_URL", f"sqlite:///{self.root}/optout.db"),
            "CCPA_OPTOUT_URL": f"http://127.0.0.1:{os.environ.get('CCPA_OPTOUT_PORT', 8004)}",
            "CCPA_DOWNSTREAM_SYSTEMS": json.dumps(["adtech-sync"]),
            "DEMO_TAG_HOST": f"http://127.0.0.1:{TAG_HOST_PORT}",
            "CCPA_TAG_GATE_ORIGINS": json.dumps([f"http://127.0.0.1:{STOREFRONT_PORT}"]),
            # The demo's correction waits for the privacy team's review before its answer is sent: the console's
            # queue has something to do (docs/console.md, "Review before send").
            "CCPA_REVIEW_BEFORE_SEND": os.environ.get("CCPA_REVIEW_BEFORE_SEND", "correct"),
            "CCPA_CONSOLE_DATABASE_URL": os.environ.get(
                "CCPA_CONSOLE_DATABASE_URL", f"sqlite:///{self.root}/console.db"
            ),
            "CCPA_INTAKE_URL": f"http://127.0.0.1:{os.environ.get('CCPA_INTAKE_PORT', 8000)}",
            "CCPA_AUDIT_URL": f"http://127.0.0.1:{os.environ.get('CCPA_AUDIT_PORT', 8001)}",
            "CCPA_DELETION_URL": f"http://127.0.0.1:{os.environ.get('CCPA_DELETION_PORT', 8003)}",
            **{name: os.environ.get(name, value) for name, value in BUSINESS_CONTACT.items()},
        }

    def secrets(self) -> dict[str, str]:
        return secrets.load_or_create(self.root / "secrets.json")

    def up(self, regenerate_demo: bool = False) -> dict[str, str]:
        env = {**self.environment(regenerate_demo), **self.mail_env()}
        migrate_databases([env])  # the init step: the services find their databases at head, skip Alembic
        # HTTP services first: they create the topics the background subscribers read.
        for group in ([spec for spec in self.specs if spec.http], [spec for spec in self.specs if not spec.http]):
            for spec in group:
                self._start(spec, env)
            for spec in group:
                self._wait_ready(spec, timeout=90)
        write_stack_env(self.root, env)
        return env

    def down(self) -> list[str]:
        stopped = []
        for spec in reversed((*SERVICES, ALL_IN_ONE)):  # whichever way it was started
            pid = self._pid(spec)
            if pid is not None:
                terminate(pid, timeout=30)
                stopped.append(spec.name)
            self._pid_file(spec).unlink(missing_ok=True)
        if self._kafka_pids():  # only a broker the stack started lives in its directory
            KafkaCluster.from_dir(self.kafka_dir).stop()
            stopped.append("kafka")
        if self.redis.is_running():
            self.redis.stop()
            stopped.append("redis")
        if self.mail.is_running():
            self.mail.stop()
            stopped.append("mailpit")
        return stopped

    def status(self) -> dict[str, str]:
        """Every process the stack starts (the broker, Redis, the providers, the services), with address and state."""
        return {"kafka": self._kafka_state(), "redis": self._redis_state(), "mailpit": self._mail_state(),
                **{spec.name: self._service_state(spec) for spec in self.specs}}  # fmt: skip

    def _mail_state(self) -> str:
        server = self.mail
        if server.is_running():
            return f"running (pid {server.pid()}), mails at {server.web_url}"  # its SMTP port: stack.env
        return "not started by the stack: intake uses CCPA_SMTP_HOST" if os.environ.get("CCPA_SMTP_HOST") else "stopped"

    def _kafka_state(self) -> str:
        pids = self._kafka_pids()
        if pids:
            cluster = KafkaCluster.from_dir(self.kafka_dir)
            return f"running (pid {', '.join(map(str, pids))}) on {cluster.bootstrap_servers}"
        external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        return f"not started by the stack: it uses {external}" if external else "stopped"

    def _kafka_pids(self) -> list[int]:
        if not KafkaCluster.exists_in(self.kafka_dir):
            return []
        return [pid for pid in KafkaCluster.from_dir(self.kafka_dir).pids().values() if pid is not None]

    def _redis_state(self) -> str:
        server = self.redis
        if server.is_running():
            return f"running (pid {server.pid()}) on {server.url}"
        return "not started by the stack: it uses DEMO_REDIS_URL" if os.environ.get("DEMO_REDIS_URL") else "stopped"

    def _service_state(self, spec: ServiceSpec) -> str:
        pid = self._pid(spec)
        if pid is None:
            return "stopped"
        return f"running (pid {pid}) on {self.url(spec)}" if spec.http else f"running (pid {pid}), no HTTP port"

    def url(self, spec: ServiceSpec) -> str:
        return f"http://127.0.0.1:{os.environ.get(spec.port_variable, spec.default_port)}"

    def _kafka(self) -> KafkaCluster:
        if KafkaCluster.exists_in(self.kafka_dir):
            return KafkaCluster.from_dir(self.kafka_dir)
        port = int(os.environ.get("CCPA_KAFKA_PORT", "9092"))
        return KafkaCluster(self.kafka_dir, brokers=1, port=port)

    def _start(self, spec: ServiceSpec, env: dict[str, str]) -> None:
        if self._pid(spec) is not None:
            return
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pids.mkdir(parents=True, exist_ok=True)
        (self.pids / f"{spec.name}.ready").unlink(missing_ok=True)
        log_file = self.logs / f"{spec.name}.log"
        with log_file.open("ab") as sink:
            process = subprocess.Popen(
                [
                    part.replace("{demo}", str(self.root / "demo")).replace("{pids}", str(self.pids))
                    for part in spec.command
                ],
                env={**env, **self._own_env(spec)},
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        write_pid(self._pid_file(spec), process.pid)
        self.started[spec.name] = process

    def _own_env(self, spec: ServiceSpec) -> dict[str, str]:
        # No CCPA_LOG_FILE: the service's output already goes to logs/<name>.log, one file per process.
        # PYTHONFAULTHANDLER: a process killed by a signal (a crash in a C extension) still leaves its stack there.
        if spec is ALL_IN_ONE:  # each part's own token as CCPA_<SERVICE>__CCPA_SERVICE_TOKEN
            own = {f"CCPA_{name.upper()}__{variable}": value for name in PIPELINE
                   for variable, value in secrets.own_token_env(name, self.secrets()).items()}  # fmt: skip
            return {"PYTHONFAULTHANDLER": "1", "MALLOC_ARENA_MAX": "2", **own}
        return {"PYTHONFAULTHANDLER": "1", "MALLOC_ARENA_MAX": "2", **secrets.own_token_env(spec.name, self.secrets())}

    def _wait_ready(self, spec: ServiceSpec, timeout: float) -> None:
        def alive() -> bool:  # the child's own handle first: it keeps the exit code that a reaping check would lose
            process = self.started.get(spec.name)
            return process.poll() is None if process is not None else self._pid(spec) is not None

        if spec.http:
            ready = wait_until_ready(self.url(spec), alive, timeout, spec.ready_path)
        else:  # no HTTP readiness: it writes its ready file, and must keep running for a moment after
            marker = self.pids / f"{spec.name}.ready"
            wait_until(lambda: marker.exists() or not alive(), timeout=timeout, interval=0.1)
            ready = marker.exists() and not wait_until(lambda: not alive(), BACKGROUND_SETTLE_SECONDS, interval=0.1)
        if not ready:
            state = self._ending(spec) if not alive() else f"not ready after {timeout:.0f}s"
            raise RuntimeError(f"{spec.name} {state}; see {self.logs / spec.name}.log")

    def _ending(self, spec: ServiceSpec) -> str:
        process = self.started.get(spec.name)
        code = process.returncode if process is not None else None
        return f"{describe_exit(code)} during start-up" if code is not None else "exited during start-up"

    def _pid(self, spec: ServiceSpec) -> int | None:
        # The command-line check guards against a recycled PID belonging to something else.
        return recorded_pid(self._pid_file(spec), spec.module or f"services.{spec.name}")

    def _pid_file(self, spec: ServiceSpec) -> Path:
        return self.pids / f"{spec.name}.pid"
