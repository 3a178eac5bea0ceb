"""The start-up permission check's comparison: what the broker grants against what access.py says a service needs."""

from __future__ import annotations

import time
from concurrent.futures import Future
from types import SimpleNamespace

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AclOperation  # type: ignore[attr-defined]

from services.common.access import DISCOVERY, INTAKE, Operation, Principal
from services.common.permissions import Missing, group_operations, missing_on, missing_permissions, refusal
from services.common.topics import DELETION_RESULTS, DISCOVERY_RESULTS, DLQ, FAILURES, REQUESTS, TopicNames

NAMES = TopicNames("ns.")
EVERYTHING = ["READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE", "DESCRIBE_CONFIGS", "ALTER_CONFIGS"]


def granted_as_the_table_says(principal: Principal) -> dict[str, list[str] | None]:
    return {NAMES(spec): [op.upper() for op in principal.operations(spec)] for spec in principal.topics()}


def test_exactly_the_tables_rights_pass() -> None:
    assert missing_permissions(DISCOVERY, NAMES, granted_as_the_table_says(DISCOVERY)) == []


def test_a_broker_without_an_authorizer_passes_whether_it_reports_none_or_everything() -> None:
    topics = [NAMES(spec) for spec in INTAKE.topics()]
    assert missing_permissions(INTAKE, NAMES, dict.fromkeys(topics)) == []
    assert missing_permissions(INTAKE, NAMES, {topic: EVERYTHING for topic in topics}) == []


def test_a_missing_write_is_named_with_its_topic() -> None:
    granted = granted_as_the_table_says(INTAKE)
    granted[NAMES(REQUESTS)] = ["DESCRIBE"]
    assert missing_permissions(INTAKE, NAMES, granted) == [Missing("ns.privacy.requests", Operation.WRITE)]


def test_a_topic_the_principal_may_not_even_describe_lacks_every_right_it_needs() -> None:
    granted = granted_as_the_table_says(DISCOVERY)
    del granted[NAMES(DISCOVERY_RESULTS)]
    assert missing_permissions(DISCOVERY, NAMES, granted) == [
        Missing("ns.privacy.discovery.results", Operation.DESCRIBE),
        Missing("ns.privacy.discovery.results", Operation.WRITE),
    ]


def test_read_or_write_imply_describe_and_all_implies_everything() -> None:
    assert missing_on("t", [Operation.DESCRIBE], ["READ"]) == []
    assert missing_on("t", [Operation.DESCRIBE], ["WRITE"]) == []
    assert missing_on("t", [Operation.READ, Operation.WRITE, Operation.DESCRIBE], ["ALL"]) == []
    assert missing_on("t", [Operation.READ], ["WRITE", "DESCRIBE"]) == [Missing("t", Operation.READ)]


def test_a_group_refused_even_describe_lacks_read() -> None:
    assert missing_on("consumer group ccpa-intake", [Operation.READ], []) == [
        Missing("consumer group ccpa-intake", Operation.READ)
    ]


def test_the_refusal_names_service_principal_topic_operation_and_where_to_read_more() -> None:
    missing = [Missing("privacy.requests", Operation.WRITE), Missing("privacy.deletion.results", Operation.READ)]
    message = refusal("intake", INTAKE, missing, user="svc-intake")
    assert message.splitlines() == [
        "intake cannot start: its Kafka principal (User:svc-intake) lacks 2 right(s):",
        "  intake's Kafka principal may not Write to privacy.requests: grant it "
        "(docs/operations.md#kafka-principals-and-acls)",
        "  intake's Kafka principal may not Read from privacy.deletion.results: grant it "
        "(docs/operations.md#kafka-principals-and-acls)",
    ]
    assert "(User:ccpa-intake)" in refusal("intake", INTAKE, missing)


def test_a_principals_topics_are_each_listed_once_in_declaration_order() -> None:
    shared = Principal("p", "x", reads=(REQUESTS, DLQ), writes=(DLQ, FAILURES), describes=(REQUESTS,))
    assert shared.topics() == (REQUESTS, DLQ, FAILURES)
    assert DELETION_RESULTS in DISCOVERY.topics()


class SlowCoordinator:
    """describe_consumer_groups as a fresh cluster answers it: timeouts, then a coordinator loading, then the group."""

    def __init__(self, failures: list[int]) -> None:
        self.failures = list(failures)
        self.calls = 0

    def describe_consumer_groups(self, groups: list[str], **_options: object) -> dict[str, Future[object]]:
        self.calls += 1
        future: Future[object] = Future()
        if self.failures:
            future.set_exception(KafkaException(KafkaError(self.failures.pop(0))))
        else:
            future.set_result(SimpleNamespace(authorized_operations=[AclOperation.READ, AclOperation.DESCRIBE]))
        return {groups[0]: future}


def test_a_group_coordinator_still_coming_up_is_asked_again_even_after_a_request_timed_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(time, "sleep", lambda _seconds: None)
    admin = SlowCoordinator([KafkaError._TIMED_OUT, KafkaError.COORDINATOR_LOAD_IN_PROGRESS])
    assert group_operations(admin, "ccpa-intake", timeout=15.0) == ["READ", "DESCRIBE"]  # type: ignore[arg-type]
    assert admin.calls == 3


def test_any_other_group_error_stops_the_start_up_at_once() -> None:
    admin = SlowCoordinator([KafkaError.INVALID_GROUP_ID])
    with pytest.raises(KafkaException):
        group_operations(admin, "ccpa-intake", timeout=15.0)  # type: ignore[arg-type]
    assert admin.calls == 1
