"""How the runtime tells a poison message from a passing failure, and describes errors without PI."""

from __future__ import annotations

import sqlalchemy.exc
from confluent_kafka import KafkaException

from services.common.logs import scrub


class PoisonMessage(Exception):
    """The event can never be applied (invalid content, broken invariant): send it to the DLQ."""


class TransientError(Exception):
    """A dependency is unavailable for now: retry with backoff, keep the request pending."""


TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    TransientError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    KafkaException,
    ConnectionError,
    TimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT_TYPES)


def describe_error(exc: BaseException) -> str:
    """A diagnostic safe for logs and topics: SQL errors lose their bound parameters, the rest is scrubbed."""
    if isinstance(exc, sqlalchemy.exc.StatementError):
        return f"{type(exc).__name__}: {type(exc.orig).__name__ if exc.orig else 'statement error'}"
    return scrub(str(exc))[:500]
