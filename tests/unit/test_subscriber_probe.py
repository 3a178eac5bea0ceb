"""The reference subscriber probes the gated flows with the version it acknowledged, not one they moved past."""

from __future__ import annotations

from services.common.flows.decision import SubjectState as DecisionState
from services.common.flows.probe import ProbeReport
from services.common.topics import TopicNames
from services.optout.subscriber import ReferenceSubscriber, SubjectState

SUBJECT = "sk_probe"
OPTED_OUT = SubjectState(3, True, True, (), "event-3", "request-3")


class Cache:
    def __init__(self, version: int) -> None:
        self.held = version

    def version(self, _subject_key: str) -> int:
        return self.held


class Replay:
    def __init__(self) -> None:
        self.replayed: list[tuple[str, int]] = []

    def replay(self, subject_key: str, state: DecisionState) -> ProbeReport:
        self.replayed.append((subject_key, state.version))
        return ProbeReport()


def subscriber(cache_version: int) -> tuple[ReferenceSubscriber, Replay]:
    # librdkafka connects lazily: nothing here reaches a broker.
    built = ReferenceSubscriber("probe-test", {"bootstrap.servers": "127.0.0.1:9"}, TopicNames("t."))
    replay = Replay()
    built.state[SUBJECT] = OPTED_OUT
    built.probes, built.probe_states = replay, Cache(cache_version)  # type: ignore[assignment]
    return built, replay


def test_the_acknowledged_opt_out_is_probed_once_the_gates_hold_it() -> None:
    built, replay = subscriber(cache_version=3)
    built._probe(SUBJECT)
    assert replay.replayed == [(SUBJECT, 3)]


def test_a_version_the_gates_have_already_moved_past_is_not_probed() -> None:
    # opt-out (3) then opt-in (4) in quick succession: the gates rightly allow; that is no leak of version 3
    built, replay = subscriber(cache_version=4)
    built._probe(SUBJECT)
    assert replay.replayed == []
