"""A complete intake + audit pipeline as child processes with their own databases and topic namespace.

The tests and the benchmarks build one per run (or per test), on the real broker and PostgreSQL.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from devtools.local import secrets
from devtools.local.migrate import migrate_databases
from devtools.local.process import AllInOneProcess, ServiceProcess, SubscriberProcess
from devtools.localstack.ports import free_port
from services.deletion.providers.confirmations import CALLBACK_PATH

CRM_DATAMAP_PATH = Path(__file__).parents[1] / "demo" / "crm-datamap.yaml"

DOWNSTREAM = "adtech-sync"
# The demo company's server-side sharing and sale flows the downstream probes after each opt-out it acknowledges.
DEMO_GATED_FLOWS = ("adreach-events", "adreach-audience", "coop-export")


@dataclass(frozen=True)
class PipelineConfig:
    bootstrap_servers: str
    topic_namespace: str
    intake_db_url: str
    audit_db_url: str
    keystore_url: str
    identity_source_url: str
    log_dir: Path
    submit_rate_limit: str = "100000/minute"
    optout_db_url: str | None = None
    discovery_db_url: str | None = None
    deletion_db_url: str | None = None
    datamap_path: Path | None = None
    console_db_url: str | None = None  # with it, the operator console too
    extra_env: dict[str, str] = field(default_factory=dict)
    # Per process ("intake", ..., "console", "downstream"), over extra_env: e.g. each one's own Kafka principal in
    # CCPA_KAFKA_EXTRA_CONFIG on a secured cluster.
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    all_in_one: bool = False  # the services in one process (`ccpa serve all`), each still on its own port


def smtp_env(smtp_port: int) -> dict[str, str]:
    """Intake's consumer e-mail to a mail server on loopback (Mailpit): a pipeline without it sends none."""
    return {"CCPA_SMTP_HOST": "127.0.0.1", "CCPA_SMTP_PORT": str(smtp_port), "CCPA_SMTP_SECURITY": "none"}


def pipeline_env(config: PipelineConfig, stack_secrets: dict[str, str]) -> dict[str, str]:
    return {
        **os.environ,
        **secrets.service_env(stack_secrets),
        "KAFKA_BOOTSTRAP_SERVERS": config.bootstrap_servers,
        "CCPA_TOPIC_NAMESPACE": config.topic_namespace,
        "CCPA_INTAKE_DATABASE_URL": config.intake_db_url,
        "CCPA_AUDIT_DATABASE_URL": config.audit_db_url,
        "CCPA_KEYSTORE_URL": config.keystore_url,
        "CCPA_IDENTITY_SOURCE_URL": config.identity_source_url,
        "CCPA_SUBMIT_RATE_LIMIT": config.submit_rate_limit,
        "CCPA_CHOICES_RATE_LIMIT": config.submit_rate_limit,
        "CCPA_ENVIRONMENT": "test",
        **_optout_env(config),
        **_discovery_env(config),
        **config.extra_env,
    }


def _optout_env(config: PipelineConfig) -> dict[str, str]:
    if config.optout_db_url is None:
        return {}
    return {"CCPA_OPTOUT_DATABASE_URL": config.optout_db_url, "CCPA_DOWNSTREAM_SYSTEMS": json.dumps([DOWNSTREAM])}


def optout_datamap(config: PipelineConfig) -> dict[str, str]:
    """Optout's own CCPA_DATAMAP, whose systems of record it flags: the demo company's map, or else one naming the
    identity source's customers alone (the other services keep theirs)."""
    return {"CCPA_DATAMAP": str(config.datamap_path or CRM_DATAMAP_PATH)}


def _gated_env(config: PipelineConfig) -> dict[str, str]:
    """The downstream's data map, whose flows it probes (the demo company's, when the pipeline has one)."""
    return {"CCPA_DATAMAP": str(config.datamap_path)} if config.datamap_path else {}


def _discovery_env(config: PipelineConfig) -> dict[str, str]:
    if config.discovery_db_url is None:
        return {}
    env = {"CCPA_DISCOVERY_DATABASE_URL": config.discovery_db_url}
    if config.deletion_db_url is not None:
        env["CCPA_DELETION_DATABASE_URL"] = config.deletion_db_url
    if config.datamap_path is not None:
        env["CCPA_DATAMAP"] = str(config.datamap_path)
    return env


class Pipeline:
    """intake + audit; with an optout database also optout and the reference downstream subscriber; with a
    discovery database also discovery (its data map and the demo stores' DEMO_* variables in extra_env)."""

    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        self.secrets = secrets.generate()
        optout_port, discovery_port, intake_port, deletion_port = free_port(), free_port(), free_port(), free_port()
        audit_port = free_port()
        self.env = {
            **pipeline_env(config, self.secrets),
            "CCPA_OPTOUT_URL": f"http://127.0.0.1:{optout_port}",
            "CCPA_DISCOVERY_URL": f"http://127.0.0.1:{discovery_port}",
            "CCPA_PUBLIC_BASE_URL": f"http://127.0.0.1:{intake_port}",
            "CCPA_PRIVACY_CENTER_URL": f"http://127.0.0.1:{intake_port}/privacy/",
            "CCPA_PROVIDER_CALLBACK_URL": f"http://127.0.0.1:{deletion_port}{CALLBACK_PATH}",
            "CCPA_INTAKE_URL": f"http://127.0.0.1:{intake_port}",
            "CCPA_AUDIT_URL": f"http://127.0.0.1:{audit_port}",
            "CCPA_DELETION_URL": f"http://127.0.0.1:{deletion_port}",
        }
        intake_env = {**self.own_env("intake"), **secrets.own_token_env("intake", self.secrets)}
        self.intake = ServiceProcess("intake", intake_env,
                                     intake_port, config.log_dir)  # fmt: skip
        self.audit = ServiceProcess("audit", self.own_env("audit"), audit_port, config.log_dir)
        self.optout = (
            ServiceProcess("optout", {**self.own_env("optout"), **optout_datamap(config)}, optout_port, config.log_dir)
            if config.optout_db_url else None
        )  # fmt: skip
        self.downstream = (
            SubscriberProcess(DOWNSTREAM, {**self.own_env("downstream"), **_gated_env(config)}, config.log_dir,
                              gated_flows=DEMO_GATED_FLOWS if config.datamap_path else ())
            if config.optout_db_url else None
        )  # fmt: skip
        self.discovery = (
            ServiceProcess("discovery", self.own_env("discovery"), discovery_port, config.log_dir)
            if config.discovery_db_url else None
        )  # fmt: skip
        self.deletion = (
            ServiceProcess("deletion", self.own_env("deletion"), deletion_port, config.log_dir)
            if config.deletion_db_url else None
        )  # fmt: skip
        console_env = {**self.own_env("console"), **secrets.own_token_env("console", self.secrets),
                       "CCPA_CONSOLE_DATABASE_URL": config.console_db_url or ""}  # fmt: skip
        self.console = (
            ServiceProcess("console", console_env, free_port(), config.log_dir) if config.console_db_url else None
        )
        self.all_in_one: AllInOneProcess | None = None

    def own_env(self, process: str) -> dict[str, str]:
        """The environment of one process: the pipeline's, with that process's own entries of service_env."""
        return {**self.env, **self.config.service_env.get(process, {})}

    @property
    def token(self) -> str:
        return self.secrets["CCPA_API_TOKEN"]

    @property
    def auth(self) -> dict[str, str]:
        """The operator's (the privacy team's) credential."""
        return {"Authorization": f"Bearer {self.token}"}

    def auth_of(self, caller: str) -> dict[str, str]:
        """Another caller's credential: "intake" or "monitoring"."""
        return {"Authorization": f"Bearer {self.secrets[secrets.CALLER_TOKENS[caller]]}"}

    @property
    def services(self) -> list[ServiceProcess]:
        services = (self.intake, self.audit, self.optout, self.discovery, self.deletion, self.console)
        return [s for s in services if s is not None]

    @property
    def processes(self) -> list[ServiceProcess]:
        """What runs: a process per service, or the one all-in-one process."""
        if not self.config.all_in_one:
            return self.services
        if self.all_in_one is None:
            self.all_in_one = AllInOneProcess(self.services, self.env, self.config.log_dir)
        return [self.all_in_one]

    def start(self) -> Pipeline:
        migrate_databases(service.env for service in self.services)  # the init step: the services skip Alembic
        for process in self.processes:
            process.start(wait=False)
        for process in self.processes:
            process.wait_ready()
        if self.downstream:
            self.downstream.start()
        return self

    def stop(self) -> None:
        if self.downstream:
            self.downstream.stop()
        for process in self.processes:
            process.stop()
