"""Cluster tests, run by `make test-cluster` apart from `make test` (they would push it past its time budget; CI runs
both): a secured broker (SASL_SSL, SCRAM, ACLs), two replicas of each consumer, and the Confluent wire format
against a real Schema Registry (built once per machine by `make schema-registry`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.localstack.schema_registry import SchemaRegistryServer


@pytest.fixture(scope="module")
def registry_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Schema Registry (rivven-schema, in memory) on a free loopback port for the module, stopped by PID."""
    server = SchemaRegistryServer(tmp_path_factory.mktemp("schema-registry"))
    server.start()
    yield server.url
    server.stop()
