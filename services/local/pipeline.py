"""A complete intake + audit pipeline as child processes with their own databases and topic namespace.

The tests and the benchmarks build one per run (or per test), on the real broker and PostgreSQL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from services.common.localstack.ports import free_port
from services.local import secrets
from services.local.process import ServiceProcess


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
    extra_env: dict[str, str] = field(default_factory=dict)


def pipeline_env(config: PipelineConfig, stack_secrets: dict[str, str]) -> dict[str, str]:
    return {
        **os.environ,
        **stack_secrets,
        "KAFKA_BOOTSTRAP_SERVERS": config.bootstrap_servers,
        "CCPA_TOPIC_NAMESPACE": config.topic_namespace,
        "CCPA_INTAKE_DATABASE_URL": config.intake_db_url,
        "CCPA_AUDIT_DATABASE_URL": config.audit_db_url,
        "CCPA_KEYSTORE_URL": config.keystore_url,
        "CCPA_IDENTITY_SOURCE_URL": config.identity_source_url,
        "CCPA_SUBMIT_RATE_LIMIT": config.submit_rate_limit,
        "CCPA_ENVIRONMENT": "test",
        **config.extra_env,
    }


class Pipeline:
    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        self.secrets = secrets.generate()
        self.env = pipeline_env(config, self.secrets)
        self.intake = ServiceProcess("intake", self.env, free_port(), config.log_dir)
        self.audit = ServiceProcess("audit", self.env, free_port(), config.log_dir)

    @property
    def token(self) -> str:
        return self.secrets["CCPA_API_TOKEN"]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def start(self) -> Pipeline:
        self.intake.start(wait=False)
        self.audit.start(wait=False)
        self.intake.wait_ready()
        self.audit.wait_ready()
        return self

    def stop(self) -> None:
        self.intake.stop()
        self.audit.stop()
