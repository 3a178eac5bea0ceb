"""The service's event codec, chosen by its settings. The Schema Registry client (and the HTTP, OAuth and JOSE
libraries it brings, about 7 MiB per process) is imported only when CCPA_SCHEMA_REGISTRY_URL is set."""

from __future__ import annotations

import threading
from typing import Any

from services.common.errors import TransientError
from services.common.events import Event
from services.common.serde import SingleObjectCodec


def codec_for(registry_config: dict[str, Any] | None) -> SingleObjectCodec:
    """The service's codec: single-object encoding without a registry, the wire format with one."""
    if registry_config is None:
        return SingleObjectCodec()
    from confluent_kafka.schema_registry import SchemaRegistryClient

    from services.common.registry import RegistryCodec

    return RegistryCodec(SchemaRegistryClient(registry_config), str(registry_config["url"]))


def decode_patiently(codec: SingleObjectCodec, data: bytes | None, stop: threading.Event,
                     max_delay: float = 10.0) -> Event:  # fmt: skip
    """Decode `data`; while the registry cannot be reached (a writer schema not yet cached), wait and try again,
    longer each time, until `stop`. For the loops that keep state from a topic: skipping a record for an outage would
    lose an opt-out, dying would leave the state stale. DecodeError (the bytes are bad) is raised at once."""
    delay = 0.5
    while True:
        try:
            return codec.decode(data)
        except TransientError:
            if stop.wait(delay):
                raise
            delay = min(delay * 2, max_delay)
