"""Everything a product service or batch job needs, from its settings: the data map's flows (CCPA_DATAMAP), the
opt-out state cache, the Decider, the evidence sink of a named gate, and the gates themselves."""

from __future__ import annotations

from pydantic import Field, ValidationError

from services.common.codec import codec_for
from services.common.datamap.loader import DataMapError, load_datamap
from services.common.environments import DEMO_DATAMAP
from services.common.flows.cache import OptOutStateCache
from services.common.flows.decision import Decider, FlowRule, flow_rules
from services.common.flows.evidence import BlockedFlows
from services.common.flows.gates import CallGate, ExportGate
from services.common.settings import CommonSettings
from services.common.topics import TopicNames


class EnforcementSettings(CommonSettings):
    """The decision library's settings (CCPA_* variables; a refusal never repeats a value given)."""

    datamap_path: str = Field(DEMO_DATAMAP, validation_alias="CCPA_DATAMAP")
    flow_stale_after_seconds: float = Field(
        30.0, gt=0, description="Past this without catching up, sale and sharing flows fail closed"
    )
    flow_cache_wait_seconds: float = Field(
        60.0, ge=0, description="How long start() waits for the opt-out state cache to catch up"
    )


class CacheNotCaughtUp(RuntimeError):
    """The cache did not catch up with privacy.optout.state in time (the broker is away?)."""


def refusal(error: Exception) -> str:
    """Why enforcement could not start, on one line (a refused data map lists each problem)."""
    if isinstance(error, DataMapError):
        return f"the data map {error.source} is refused: " + "; ".join(error.problems)
    if isinstance(error, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors(include_input=False))
    return " ".join(str(error).split())


class Enforcement:
    """The data map's rules over a started cache, and the evidence sink of one gate (`gate`: the job or service)."""

    def __init__(self, rules: dict[str, FlowRule], cache: OptOutStateCache, blocked: BlockedFlows,
                 settings: EnforcementSettings) -> None:  # fmt: skip
        self.settings = settings
        self.rules = rules
        self.cache = cache
        self.blocked = blocked
        self.decider = Decider(rules, cache)

    @classmethod
    def start(cls, gate: str, settings: EnforcementSettings | None = None, *, wait: bool = True) -> Enforcement:
        """Load the data map (DataMapError when it is refused), start the cache and, with `wait`, wait for it to
        catch up (CacheNotCaughtUp past flow_cache_wait_seconds: decisions would fail closed anyway)."""
        settings = settings or EnforcementSettings()
        rules = flow_rules(load_datamap(settings.datamap_path))
        topics = TopicNames(settings.topic_namespace)
        kafka = settings.kafka_config()
        codec = codec_for(settings.schema_registry_config())  # the state topic may hold the registry's wire format
        cache = OptOutStateCache(kafka, topics, stale_after_seconds=settings.flow_stale_after_seconds,
                                 name=gate, codec=codec).start()  # fmt: skip
        if wait and not cache.wait_until_caught_up(settings.flow_cache_wait_seconds):
            cache.stop()
            raise CacheNotCaughtUp(f"the opt-out state cache did not catch up within "
                                   f"{settings.flow_cache_wait_seconds:g} s; is Kafka reachable?")  # fmt: skip
        return cls(rules, cache, BlockedFlows(kafka, gate=gate, topics=topics, codec=codec), settings)

    def export_gate(self, flow: str) -> ExportGate:
        return ExportGate(self.decider, flow, self.blocked)

    def call_gate(self, flow: str) -> CallGate:
        return CallGate(self.decider, flow, self.blocked)

    def close(self) -> None:
        """Send what is left, stop the cache."""
        try:
            self.blocked.flush()
        finally:
            self.blocked.close()
            self.cache.stop()
