"""decode_patiently waits out a registry outage and gives up only when stopped; bad bytes are refused at once."""

from __future__ import annotations

import threading

import pytest

from services.common.codec import decode_patiently
from services.common.errors import TransientError
from services.common.events import Event
from services.common.registry import SchemaRegistryUnavailable
from services.common.serde import DecodeError, SingleObjectCodec
from tests.nonsense import well_formed


class Flaky(SingleObjectCodec):
    """A codec whose registry is away for the first `outages` reads."""

    def __init__(self, outages: int, event: Event | None = None, bad: bool = False) -> None:
        super().__init__()
        self.outages, self.event, self.bad, self.reads = outages, event, bad, 0

    def decode(self, data: bytes | None) -> Event:
        self.reads += 1
        if self.bad:
            raise DecodeError("not an event")
        if self.reads <= self.outages:
            raise SchemaRegistryUnavailable("the schema registry did not answer")
        assert self.event is not None
        return self.event


def test_an_outage_is_waited_out_and_the_event_returned() -> None:
    event = well_formed("OptOutState")
    codec = Flaky(outages=2, event=event)
    assert decode_patiently(codec, b"\x00", threading.Event(), max_delay=0.01) == event
    assert codec.reads == 3


def test_a_stop_during_an_outage_ends_the_wait() -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(TransientError):
        decode_patiently(Flaky(outages=10**6), b"\x00", stop)


def test_bad_bytes_are_refused_at_once() -> None:
    codec = Flaky(outages=0, bad=True)
    with pytest.raises(DecodeError):
        decode_patiently(codec, b"junk", threading.Event())
    assert codec.reads == 1
