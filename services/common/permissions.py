"""The start-up permission check: what the service's Kafka principal may do on each of its topics (and its consumer
group), as the broker reports it (KIP-430 authorized operations), against what services/common/access.py says
it needs. A missing right stops the service with a message naming the topic, the operation and the principal."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException, TopicCollection
from confluent_kafka.admin import AclOperation, AdminClient  # type: ignore[attr-defined]

from services.common.access import Operation, Principal
from services.common.topics import TopicNames

DOC = "docs/operations.md#kafka-principals-and-acls"
# What Kafka reports as granted, per operation the table grants: ALL covers everything, and Kafka counts
# Read or Write (or Delete, Alter) as implying Describe.
_IMPLIED_BY: dict[Operation, frozenset[str]] = {
    Operation.READ: frozenset({"READ", "ALL"}),
    Operation.WRITE: frozenset({"WRITE", "ALL"}),
    Operation.DESCRIBE: frozenset({"DESCRIBE", "READ", "WRITE", "DELETE", "ALTER", "ALL"}),
}
# A request timing out is in the set too: on a fresh cluster on a busy machine, creating __consumer_offsets and
# loading the group coordinator took longer than one 15 s request (seen in bench.discovery at start-up).
_COORDINATOR_PENDING = frozenset({KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_NOT_AVAILABLE,
                                  KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError._TIMED_OUT})  # fmt: skip
COORDINATOR_WAIT_SECONDS = 90.0  # how long start-up waits for the group coordinator in all
_NOT_AUTHORIZED = frozenset({KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED})


class StartupRefused(RuntimeError):
    """The service must not start; the message says why and what an operator does about it (no traceback)."""


def exit_if_refused(start: Callable[[], None]) -> None:
    """Run `start`; when it refuses, print the refusal and end the process with status 1.

    Raised through the ASGI lifespan, the refusal would reach people as a traceback (Starlette formats it).
    """
    try:
        start()
    except StartupRefused as refused:
        sys.stderr.write(f"{refused}\n")
        sys.stderr.flush()
        logging.getLogger(__name__).error("start-up refused", extra={"reason": str(refused)})
        logging.shutdown()
        os._exit(1)


class PermissionMissing(StartupRefused):
    """The principal lacks at least one right it needs; the message lists each, for the operator."""


@dataclass(frozen=True)
class Missing:
    """One right the principal needs and the broker does not grant."""

    resource: str  # "privacy.requests", or "consumer group ccpa-intake"
    operation: Operation

    def describe(self, service: str) -> str:
        return f"{service}'s Kafka principal may not {self.operation} {_preposition(self.operation)} {self.resource}"


def _preposition(operation: Operation) -> str:
    return {Operation.READ: "from", Operation.WRITE: "to", Operation.DESCRIBE: "on"}[operation]


def missing_on(resource: str, needed: Iterable[Operation], granted: Iterable[str] | None) -> list[Missing]:
    """What of `needed` the `granted` operations (Kafka's names; None: the broker has no authorizer) leave out."""
    if granted is None:
        return []
    have = {name.upper() for name in granted}
    return [Missing(resource, op) for op in sorted(needed) if not have & _IMPLIED_BY[op]]


def missing_permissions(
    principal: Principal, names: TopicNames, granted_on: Mapping[str, Iterable[str] | None]
) -> list[Missing]:
    """Each right the principal lacks on its topics; a topic absent from `granted_on` is not even describable."""
    missing: list[Missing] = []
    for spec in principal.topics():
        topic = names(spec)
        needed = principal.operations(spec)
        if topic not in granted_on:
            missing.extend(Missing(topic, op) for op in sorted(needed))
        else:
            missing.extend(missing_on(topic, needed, granted_on[topic]))
    return missing


def refusal(service: str, principal: Principal, missing: list[Missing], user: str | None = None) -> str:
    """The start-up refusal: the user it connected as (the table's principal name when the config names none)."""
    lines = [f"{item.describe(service)}: grant it ({DOC})" for item in missing]
    return (
        f"{service} cannot start: its Kafka principal (User:{user or principal.name}) lacks {len(missing)} right(s):\n"
        + "\n".join(f"  {line}" for line in lines)
    )


def check_permissions(admin: AdminClient, service: str, principal: Principal, names: TopicNames,
                      group_id: str | None = None, user: str | None = None,
                      timeout: float = 15.0) -> None:  # fmt: skip
    """Raise PermissionMissing unless the broker grants the principal every right access.py gives it."""
    missing = missing_permissions(principal, names, topic_operations(admin, names, principal, timeout))
    if group_id is not None:
        missing.extend(missing_on(f"consumer group {group_id}", [Operation.READ],
                                  group_operations(admin, group_id, timeout)))  # fmt: skip
    if missing:
        raise PermissionMissing(refusal(service, principal, missing, user))


def topic_operations(
    admin: AdminClient, names: TopicNames, principal: Principal, timeout: float
) -> dict[str, list[str] | None]:
    """Topic -> what the broker says this client may do (None: no authorizer); undescribable ones are left out."""
    topics = [names(spec) for spec in principal.topics()]
    futures = admin.describe_topics(
        TopicCollection(topics), include_authorized_operations=True, request_timeout=timeout
    )
    granted: dict[str, list[str] | None] = {}
    for topic, future in futures.items():
        try:
            granted[topic] = _names(future.result().authorized_operations)
        except KafkaException as exc:
            if exc.args[0].code() not in _NOT_AUTHORIZED:
                raise
    return granted


def group_operations(admin: AdminClient, group_id: str, timeout: float) -> list[str] | None:
    """What this client may do on consumer group `group_id` ([] when refused even Describe). Waits up to
    COORDINATOR_WAIT_SECONDS (or `timeout`, if longer) for a coordinator that is still coming up."""
    deadline = time.monotonic() + max(timeout, COORDINATOR_WAIT_SECONDS)
    while True:
        future = admin.describe_consumer_groups([group_id], include_authorized_operations=True,
                                                request_timeout=timeout)  # fmt: skip
        try:
            # A group nobody joined yet is described as Dead, with the operations its ACLs grant.
            return _names(future[group_id].result().authorized_operations)
        except KafkaException as exc:
            code = exc.args[0].code()
            if code in _NOT_AUTHORIZED:
                return []
            # On a fresh cluster the group coordinator (__consumer_offsets) comes up on the first lookup.
            if code not in _COORDINATOR_PENDING or time.monotonic() > deadline:
                raise
            logging.getLogger(__name__).warning(
                "consumer group coordinator not ready yet; asking again", extra={"error": exc.args[0].name()}
            )
        time.sleep(0.5)


def _names(operations: list[AclOperation] | None) -> list[str] | None:
    return None if operations is None else [op.name for op in operations]
