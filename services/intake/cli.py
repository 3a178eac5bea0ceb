"""`ccpa keys shred SUBJECT_KEY --operator NAME --reason CODE`: an operator shreds a subject's data keys by hand, and
`KeysShredded` (no request, operator and reason named) goes on the audit timeline. Exit 0 done, 1 the event could not
be published (the keys are shredded: run it again to publish), 2 bad input."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from services.common.codec import codec_for
from services.common.contracts import is_name, is_subject_key
from services.common.crypto import KeyStore
from services.common.db import make_engine
from services.common.kafka import DeliveryFailed, EventProducer, event_message
from services.common.settings import CommonSettings
from services.common.topics import REQUESTS, TopicNames
from services.intake.revocation import keys_shredded

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
PRODUCER = "operator"


def keys_shred(
    subject_key: Annotated[str, typer.Argument(metavar="SUBJECT_KEY", help="64 hex characters, as audit shows it")],
    operator: Annotated[str, typer.Option("--operator", metavar="NAME", help="Your account name (recorded)")],
    reason: Annotated[str, typer.Option("--reason", metavar="CODE", help="Why: a short code or ticket reference")],
) -> None:
    """Destroy a subject's data keys: every copy of their encrypted identifiers becomes unreadable."""
    errors = Console(stderr=True)
    bad = _bad_input(subject_key, operator, reason)
    if bad:
        errors.print(bad, highlight=False, markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    settings = CommonSettings()
    store = KeyStore(make_engine(settings.keystore_url), settings.master_key_bytes(), settings.active_master_key)
    key_ids = store.shred_subject_keys(subject_key)
    event = keys_shredded(subject_key, key_ids, operator=operator, reason=reason, producer=PRODUCER)
    producer = EventProducer(settings.kafka_config(), "ccpa-keys-shred")
    try:
        codec = codec_for(settings.schema_registry_config())
        producer.send_all([event_message(TopicNames(settings.topic_namespace)(REQUESTS), event, codec)])
    except DeliveryFailed as exc:
        errors.print(f"shredded {len(key_ids)} data key(s), but KeysShredded was not published ({exc}); run the "
                     "command again to publish it", highlight=False, markup=False)  # fmt: skip
        raise typer.Exit(EXIT_FAILED) from None
    finally:
        producer.close()
    Console().print(f"shredded {len(key_ids)} data key(s) of subject {subject_key}; KeysShredded published")


def _bad_input(subject_key: str, operator: str, reason: str) -> str | None:
    if not is_subject_key(subject_key):
        return "SUBJECT_KEY must be a subject key: 64 lower-case hex digits"
    if not (is_name(operator) and is_name(reason)):
        return "--operator and --reason must be names of at most 64 letters, digits and _.:- (never an e-mail)"
    return None
