"""The generated Kubernetes resources are what the shared tables make of them today: Strimzi KafkaUsers from the
ACL table (services/common/access.py), KEDA ScaledObjects from each service's consumer group and topics."""

from __future__ import annotations

from pathlib import Path

import yaml

from devtools.k8s import kafka_users, keda
from services.audit.settings import AuditSettings
from services.common.access import PRINCIPALS, acl_rows, principal_of
from services.common.settings import CommonSettings
from services.common.topics import TopicNames
from services.deletion.settings import DeletionSettings
from services.discovery.settings import DiscoverySettings
from services.intake.settings import IntakeSettings
from services.optout.settings import OptoutSettings

COMPONENTS = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "components"
USERS = COMPONENTS / "kafka-users" / "users.yaml"
SCALED_OBJECTS = COMPONENTS / "keda-autoscaling" / "scaled-objects.yaml"
SETTINGS: dict[str, type[CommonSettings]] = {"intake": IntakeSettings, "discovery": DiscoverySettings,
                                             "deletion": DeletionSettings, "optout": OptoutSettings,
                                             "audit": AuditSettings}  # fmt: skip


def test_the_committed_kafka_users_are_what_the_acl_table_generates() -> None:
    assert USERS.read_text() == kafka_users.render(), f"regenerate: python -m devtools.k8s.kafka_users > {USERS}"


def test_each_kafka_user_has_exactly_its_principals_acl_rows() -> None:
    """Read back from the YAML, independently of the generator: one user per principal, the same rights."""
    users = {doc["metadata"]["name"]: doc for doc in yaml.safe_load_all(USERS.read_text())}
    assert list(users) == [principal.name for principal in PRINCIPALS]
    for principal in PRINCIPALS:
        spec = users[principal.name]["spec"]
        assert spec["authentication"] == {"type": "scram-sha-512"} and spec["authorization"]["type"] == "simple"
        granted = {(acl["resource"]["type"], acl["resource"]["name"], acl["resource"]["patternType"], operation)
                   for acl in spec["authorization"]["acls"] for operation in acl["operations"]}  # fmt: skip
        table = {(row.resource_type.value, row.resource_name, row.pattern.value, row.operation.value)
                 for row in acl_rows(principal, TopicNames(""))}  # fmt: skip
        assert granted == table, principal.name


def test_the_committed_scaled_objects_are_what_the_settings_generate() -> None:
    assert SCALED_OBJECTS.read_text() == keda.render(), f"regenerate: python -m devtools.k8s.keda > {SCALED_OBJECTS}"


def test_each_worker_scales_on_its_own_group_over_topics_its_principal_reads() -> None:
    scaled = [doc for doc in yaml.safe_load_all(SCALED_OBJECTS.read_text()) if doc["kind"] == "ScaledObject"]
    assert {doc["spec"]["scaleTargetRef"]["name"] for doc in scaled} == {f"{service}-worker" for service in SETTINGS}
    for doc in scaled:
        service = doc["spec"]["scaleTargetRef"]["name"].removesuffix("-worker")
        readable = {TopicNames("")(spec) for spec in principal_of(service).reads}
        for trigger in doc["spec"]["triggers"]:
            assert trigger["metadata"]["consumerGroup"] == SETTINGS[service].model_fields["consumer_group"].default
            assert trigger["metadata"]["topic"] in readable, (service, trigger["metadata"]["topic"])
            assert trigger["authenticationRef"]["name"] == f"ccpa-{service}-kafka"
