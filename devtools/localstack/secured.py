"""What an operator does on a secured cluster before the pipeline starts: a SCRAM user per principal, the topics,
and the ACLs of services/common/access.py, all as the admin (the super user)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)

from devtools.localstack.kafka_security import BrokerSecurity, new_password
from devtools.localstack.ports import LocalStackError
from services.common.access import AclRow, Pattern, Principal
from services.common.access import ResourceType as AclResource
from services.common.topics import ALL_TOPICS, TopicNames, ensure_topics

SCRAM_ITERATIONS = 4096
_RESOURCE = {AclResource.TOPIC: ResourceType.TOPIC, AclResource.GROUP: ResourceType.GROUP}
_PATTERN = {Pattern.LITERAL: ResourcePatternType.LITERAL, Pattern.PREFIXED: ResourcePatternType.PREFIXED}


def create_users(admin: AdminClient, principals: Iterable[Principal]) -> dict[str, str]:
    """A SCRAM-SHA-512 credential with a fresh password for each principal; returns user -> password."""
    passwords = {principal.name: new_password() for principal in principals}
    upserts: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS),
                                     password.encode())
        for user, password in passwords.items()
    ]  # fmt: skip
    _all_done(admin.alter_user_scram_credentials(upserts), "creating the SCRAM user")
    return passwords


def acl_binding(row: AclRow) -> AclBinding:
    """The broker's ALLOW binding for one row of the access table (any host)."""
    operation = AclOperation[row.operation.upper()]
    return AclBinding(_RESOURCE[row.resource_type], row.resource_name, _PATTERN[row.pattern],
                      f"User:{row.principal}", "*", operation, AclPermissionType.ALLOW)  # fmt: skip


def apply_acls(admin: AdminClient, rows: Iterable[AclRow]) -> list[AclBinding]:
    """Create the ACLs of `rows` (existing ones stay: create_acls is idempotent); returns the bindings."""
    bindings = list(dict.fromkeys(acl_binding(row) for row in rows))
    _all_done(admin.create_acls(bindings, request_timeout=30), "creating the ACL")
    return bindings


def remove_acl(admin: AdminClient, row: AclRow) -> None:
    """Delete the one binding of `row` (a test takes a right away to see the start-up check refuse)."""
    binding = acl_binding(row)
    selector = AclBindingFilter(binding.restype, binding.name, binding.resource_pattern_type, binding.principal,
                                binding.host, binding.operation, binding.permission_type)  # fmt: skip
    _all_done(admin.delete_acls([selector], request_timeout=30), "deleting the ACL")


def create_topics(admin: AdminClient, names: TopicNames, partitions: int = 3) -> list[str]:
    """Every topic of the pipeline under `names`, as the operator would (principals have no Create)."""
    return ensure_topics(admin, names, partitions, replication_factor=1, specs=ALL_TOPICS)


def extra_config(security: BrokerSecurity, user: str, password: str) -> str:
    """The CCPA_KAFKA_EXTRA_CONFIG of a process that connects as `user`."""
    return json.dumps(security.client_config(user, password))


def _all_done(futures: Mapping[Any, Future[Any]], what: str) -> None:
    for key, future in futures.items():
        try:
            future.result()
        except KafkaException as exc:
            raise LocalStackError(f"{what} {key} failed: {exc.args[0].str()}") from exc
