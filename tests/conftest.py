"""Shared fixtures: real infrastructure (tests/infra.py) and running intake + audit pipelines."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from devtools.demo import company
from devtools.local.pipeline import Pipeline, PipelineConfig, smtp_env
from devtools.localstack import DatabaseServer
from services.common.db import make_engine
from services.deletion import orm

pytest_plugins = ["tests.infra"]


@pytest.fixture(params=["sqlite", "postgresql"])
def deletion_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """The deletion service's own tables, on each of the databases a service runs on."""
    url = str(request.getfixturevalue("pg_url")) if request.param == "postgresql" else f"sqlite:///{tmp_path}/del.db"
    engine = make_engine(url)
    orm.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def identity_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return company.seed(tmp_path_factory.mktemp("company") / "identity.db", count=50)


@pytest.fixture(scope="session")
def demo_customers() -> list[company.Customer]:
    return company.generate(50)


@contextmanager
def fresh_pipeline_config(
    kafka_bootstrap: str, postgres_server: DatabaseServer, identity_db: Path, log_dir: Path, with_optout: bool = False
) -> Iterator[PipelineConfig]:
    """Its own PostgreSQL databases (intake, audit, key store, optout) and its own topic namespace."""
    suffix = uuid.uuid4().hex[:10]
    roles = ("intake", "audit", "keys", "optout") if with_optout else ("intake", "audit", "keys")
    names = [f"{role}_{suffix}" for role in roles]
    urls = [postgres_server.create_database(name) for name in names]
    try:
        yield PipelineConfig(
            bootstrap_servers=kafka_bootstrap,
            topic_namespace=f"t{suffix}.",
            intake_db_url=urls[0],
            audit_db_url=urls[1],
            keystore_url=urls[2],
            identity_source_url=f"sqlite:///{identity_db}",
            log_dir=log_dir,
            optout_db_url=urls[3] if with_optout else None,
        )
    finally:
        for name in names:
            postgres_server.drop_database(name)


def with_mail(request: pytest.FixtureRequest, config: PipelineConfig) -> PipelineConfig:
    """A test that asks for `mail_server` gets a pipeline sending consumer e-mail to it; the others send none."""
    if "mail_server" not in request.fixturenames:
        return config
    port = request.getfixturevalue("mail_server").smtp_port
    return dataclasses.replace(config, extra_env={**config.extra_env, **smtp_env(port)})


@pytest.fixture
def pipeline_config(
    kafka_bootstrap: str, postgres_server: DatabaseServer, identity_db: Path, tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[PipelineConfig]:  # fmt: skip
    with fresh_pipeline_config(kafka_bootstrap, postgres_server, identity_db, tmp_path / "logs") as config:
        yield with_mail(request, config)


@pytest.fixture
def optout_pipeline_config(
    kafka_bootstrap: str, postgres_server: DatabaseServer, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[PipelineConfig]:
    """With the opt-out service, whose system of record (the demo customers) this test owns."""
    identity = company.seed(tmp_path / "company" / "identity.db", count=50)
    with fresh_pipeline_config(kafka_bootstrap, postgres_server, identity, tmp_path / "logs", with_optout=True) as c:
        yield with_mail(request, c)


@pytest.fixture
def pipeline(pipeline_config: PipelineConfig) -> Iterator[Pipeline]:
    """A pipeline of this test's own, for tests that crash or reconfigure services."""
    running = Pipeline(pipeline_config).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def shared_pipeline(
    kafka_bootstrap: str,
    postgres_server: DatabaseServer,
    identity_db: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Pipeline]:
    """One pipeline for a module's tests that only submit and read (each uses its own subjects)."""
    log_dir = tmp_path_factory.mktemp("pipeline-logs")
    with fresh_pipeline_config(kafka_bootstrap, postgres_server, identity_db, log_dir) as config:
        running = Pipeline(config).start()
        try:
            yield running
        finally:
            running.stop()
