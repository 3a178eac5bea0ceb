"""The whole pipeline on a secured broker (SASL_SSL, SCRAM-SHA-512, StandardAuthorizer with no access by default):
each process connects as its own principal and gets only the ACLs of services/common/access.py."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from devtools.local import secrets
from devtools.local.process import ServiceProcess
from devtools.localstack import DatabaseServer
from devtools.localstack.kafka import KafkaCluster
from devtools.localstack.kafka_security import BrokerSecurity
from devtools.localstack.ports import free_port
from devtools.localstack.secured import apply_acls, create_topics, create_users, extra_config
from services.common.access import (
    DOWNSTREAM,
    INTAKE,
    PRINCIPALS,
    SERVICE_PRINCIPALS,
    AclRow,
    Operation,
    Pattern,
    ResourceType,
    acl_rows,
    all_acl_rows,
)
from services.common.topics import REQUESTS, TopicNames
from tests.e2e.demo_world import World, completed, demo_world, on_timeline, submit
from tests.scenarios.flows import subscriber_emails

pytestmark = pytest.mark.e2e
PIPELINE = ("intake", "audit", "discovery", "deletion", "optout")


@dataclasses.dataclass(frozen=True)
class SecuredCluster:
    cluster: KafkaCluster
    security: BrokerSecurity
    admin: AdminClient
    passwords: dict[str, str]  # SCRAM user -> password


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredCluster]:
    cluster = KafkaCluster(tmp_path_factory.mktemp("secured-kafka"), port=free_port(), secured=True)
    cluster.start()
    assert cluster.security is not None
    try:
        admin = AdminClient(cluster.admin_config())
        yield SecuredCluster(cluster, cluster.security, admin, create_users(admin, PRINCIPALS))
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def world(secured: SecuredCluster, postgres_server: DatabaseServer, redis_url: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:  # fmt: skip
    """The demo company's pipeline, every process as its own principal, on topics and ACLs the admin made."""
    namespace = f"s{uuid.uuid4().hex[:8]}."
    names = TopicNames(namespace)
    create_topics(secured.admin, names)
    apply_acls(secured.admin, all_acl_rows(names))
    logins = {service: SERVICE_PRINCIPALS[service].name for service in PIPELINE} | {"downstream": DOWNSTREAM.name}
    service_env = {
        process: {"CCPA_KAFKA_EXTRA_CONFIG": extra_config(secured.security, user, secured.passwords[user])}
        for process, user in logins.items()
    }
    with demo_world(secured.cluster.bootstrap_servers, postgres_server, redis_url,
                    tmp_path_factory.mktemp("secured-world"), 12, with_deletion=True, with_optout=True,
                    extra_env={"CCPA_TOPIC_NAMESPACE": namespace}, service_env=service_env) as world:  # fmt: skip
        world.pipeline.config = dataclasses.replace(world.pipeline.config, topic_namespace=namespace)
        yield world


def test_know_delete_and_opt_out_complete_with_each_service_as_its_own_principal(world: World) -> None:
    know_subject, delete_subject = world.customers[10], world.customers[20]
    listed = {email.lower() for email in subscriber_emails(world)}
    # On the demo's marketing list: a subject the downstream system holds, so it acknowledges the opt-out.
    opting_out = [c for c in world.customers if c.email.lower() in listed and c not in (know_subject, delete_subject)]
    know = submit(world, know_subject, "know_specific")
    delete = submit(world, delete_subject, "delete")
    opt_out = submit(world, opting_out[-1], "opt_out")

    assert completed(world, know, timeout=90)["report"]
    on_timeline(world, know, {"RequestSubmitted", "DiscoveryCompleted", "ReportReady", "RequestCompleted"})
    on_timeline(world, delete, {"RequestSubmitted", "DeletionCompleted", "RequestCompleted"})
    # The downstream's acknowledgement: it read privacy.optout.state and wrote privacy.optout.acks as its own principal.
    on_timeline(world, opt_out, {"RequestSubmitted", "OptOutApplied", "RequestCompleted", "OptOutAcknowledged"})


def test_a_principal_lacking_one_acl_stops_intake_at_start_up_naming_the_topic_and_operation(
    secured: SecuredCluster, world: World, tmp_path: Path
) -> None:
    """intake as a user with every ACL of intake's but Write on privacy.requests: it exits 1 with one clear line."""
    names = TopicNames(world.pipeline.config.topic_namespace)
    lacking = dataclasses.replace(INTAKE, name=f"ccpa-intake-lacking-{uuid.uuid4().hex[:6]}")
    password = create_users(secured.admin, [lacking])[lacking.name]
    taken = AclRow(lacking.name, ResourceType.TOPIC, names(REQUESTS), Pattern.LITERAL, Operation.WRITE)
    rows = [row for row in acl_rows(lacking, names) if row != taken]
    assert len(rows) == len(list(acl_rows(lacking, names))) - 1
    apply_acls(secured.admin, rows)
    env = {**world.pipeline.own_env("intake"), **secrets.own_token_env("intake", world.pipeline.secrets),
           "CCPA_KAFKA_EXTRA_CONFIG": extra_config(secured.security, lacking.name, password)}  # fmt: skip
    output = refused_start(env, tmp_path)
    expected = (
        f"intake's Kafka principal may not Write to {names(REQUESTS)}: grant it "
        "(docs/operations.md#kafka-principals-and-acls)"
    )
    assert expected in output
    assert f"(User:{lacking.name})" in output
    assert "Traceback" not in output
    assert json.dumps(password)[1:-1] not in output


def test_intake_on_a_namespace_whose_topics_nobody_created_stops_saying_an_operator_must_create_them(
    secured: SecuredCluster, world: World, tmp_path: Path
) -> None:
    """Its principal has every ACL it needs but no Create: the missing topics are named, and who must make them."""
    names = TopicNames(f"empty{uuid.uuid4().hex[:6]}.")
    apply_acls(secured.admin, acl_rows(INTAKE, names))
    env = {**world.pipeline.own_env("intake"), **secrets.own_token_env("intake", world.pipeline.secrets),
           "CCPA_TOPIC_NAMESPACE": names.namespace}  # fmt: skip
    output = refused_start(env, tmp_path)
    missing = ", ".join(sorted(names(spec) for spec in INTAKE.topics()))
    assert f"intake cannot start: topic(s) {missing} do not exist" in output
    assert "and it may not create them: an operator must create them" in output
    assert "Traceback" not in output


def refused_start(env: dict[str, str], tmp_path: Path) -> str:
    """Start intake with `env`; it must exit 1 (a refusal, not a crash) within a minute. Its log."""
    intake = ServiceProcess("intake", env, free_port(), tmp_path).start(wait=False)
    try:
        returncode = intake.wait_exit(60)
    finally:
        intake.kill()
    output = intake.log_file.read_text()
    assert returncode == 1, output[-3000:]
    return output
