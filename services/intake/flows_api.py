"""The tag gate's decision endpoint: may this browser's page load these third-party tags? The browser (or the product
site's server, to inline the answer) sends the page's browser-tag flows and its device id in the body (never a URL:
no identifier in an access log) with Sec-GPC; each flow is decided by the decision library over what the opt-out
service holds for this browser, and every denial becomes FlowBlocked evidence."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field
from slowapi import Limiter
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from services.common.datamap import load_datamap
from services.common.flows import Decider, Deny, DenyReason, FlowRule, SubjectState, flow_rules
from services.common.flows.evidence import BlockedFlows
from services.common.flows.vocabulary import Channel
from services.common.http_guard import problems
from services.intake.bootstrap import Intake
from services.intake.consent import ConsentLookupService, OptoutUnavailable
from services.intake.settings import IntakeSettings
from services.intake.signals import carries_gpc

log = logging.getLogger(__name__)

PATH = "/v1/tags/decisions"
GATE = "tag-gate"
FLUSH_SECONDS = 2.0  # how often the gate's FlowBlocked tally is published
HONOURED = "Opt-Out Request Honored"  # §7025(c)(6): the words the page shows when the signal was processed
NO_REGISTRY = "no data map is configured (CCPA_DATAMAP): intake has no registry of tag flows to decide"
FlowName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_\-]{0,99}$")]


class TagDecisionRequest(BaseModel):
    """The page's tags (by flow name, as the data map registers them) and this browser's device id."""

    model_config = ConfigDict(extra="forbid")
    flows: list[FlowName] = Field(min_length=1, max_length=50)
    device_id: str = Field(pattern=r"^[A-Za-z0-9_.:\-]{8,200}$", description="The site's first-party visitor id")
    gpc: bool = Field(False, description="navigator.globalPrivacyControl, in case a proxy dropped the Sec-GPC header")


class TagDecision(BaseModel):
    flow: str
    allowed: bool
    reason: str | None = None  # a DenyReason when not allowed
    relation: str | None = None  # as the data map registers the flow


class TagDecisions(BaseModel):
    """One answer per flow asked; `honoured` with the words to show when this browser's GPC was processed."""

    decisions: list[TagDecision]
    gpc: bool
    honoured: str | None = None


class OptoutStates:
    """A StateSource over the opt-out service for one decision: the states of the asked keys, fetched once; when the
    service does not answer, none is known and the source is not fresh (sale and sharing fail closed)."""

    def __init__(self, consent: ConsentLookupService, subject_keys: list[str]) -> None:
        self.states: dict[str, SubjectState] = {}
        self.answered = True
        try:
            for key in subject_keys:
                if (state := subject_state(consent.state_of(key))) is not None:
                    self.states[key] = state
        except OptoutUnavailable:
            log.warning("tag decision without the opt-out service: sale and sharing tags held back")
            self.answered = False

    def get(self, subject_key: str) -> SubjectState | None:
        return self.states.get(subject_key)

    def fresh(self) -> bool:
        return self.answered


def subject_state(answer: Mapping[str, Any]) -> SubjectState | None:
    """The opt-out service's consent answer as the decision library's state (None: no choice recorded)."""
    if not answer.get("known"):
        return None
    return SubjectState(version=int(answer.get("version") or 0), sale_opt_out=bool(answer["sale_opt_out"]),
                        share_opt_out=bool(answer["share_opt_out"]),
                        limit_sensitive=frozenset(answer.get("limit_sensitive") or ()),
                        request_id=answer.get("request_id"))  # fmt: skip


class TagGate:
    """Decides a page's browser-tag flows for one browser and records each denial as FlowBlocked."""

    def __init__(self, intake: Intake, rules: Mapping[str, FlowRule], evidence: BlockedFlows | None) -> None:
        self.intake = intake
        self.rules = {name: rule for name, rule in rules.items() if rule.channel == Channel.BROWSER_TAG.value}
        self.evidence = evidence
        self.last_loop_at = datetime.now(UTC)

    def decide(self, body: TagDecisionRequest, gpc: bool) -> TagDecisions:
        device_key = self.intake.service.subject_of({"device_id": body.device_id}).subject_key
        decider = Decider(self.rules, OptoutStates(self.intake.consent, [device_key]))
        answers = []
        for flow in dict.fromkeys(body.flows):
            decision = decider.decide(device_key, flow, gpc=gpc)
            rule = self.rules.get(flow)
            if isinstance(decision, Deny) and rule is not None and self.evidence is not None:
                self.evidence.record(device_key, decision, rule)
            reason = decision.reason.value if isinstance(decision, Deny) else None
            answers.append(TagDecision(flow=flow, allowed=bool(decision), reason=reason,
                                       relation=rule.relation.value if rule else None))  # fmt: skip
        honoured = HONOURED if gpc and any(a.reason == DenyReason.GPC.value for a in answers) else None
        return TagDecisions(decisions=answers, gpc=gpc, honoured=honoured)

    def run(self, stop: threading.Event) -> None:
        """Publish the denials every FLUSH_SECONDS, off the request path (a broker away never slows a page's
        answer), and what is left at shutdown."""
        while not stop.wait(FLUSH_SECONDS):
            self.last_loop_at = datetime.now(UTC)
            self._flush()
        self._flush()
        if self.evidence is not None:
            self.evidence.close()

    def _flush(self) -> None:
        if self.evidence is None:
            return
        try:
            self.evidence.flush(timeout=5.0)
        except Exception:  # the tally is kept and goes with the next flush
            log.warning("FlowBlocked evidence not yet published: kept for the next flush")


def tag_gate(intake: Intake, settings: IntakeSettings) -> TagGate | None:
    """The gate over the data map's flows, or None when intake was given no data map (CCPA_DATAMAP)."""
    if settings.datamap_path is None:
        return None
    rules = flow_rules(load_datamap(settings.datamap_path))
    evidence = BlockedFlows(settings.kafka_config(), gate=GATE, producer="intake", topics=intake.runtime.topics,
                            codec=intake.runtime.codec)  # fmt: skip
    return TagGate(intake, rules, evidence)


class ScopedCors:
    """CORS for the decision endpoint alone: the storefront origins may call it; nothing else of intake changes."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=origins, allow_methods=["POST"],
                                   allow_headers=["content-type", "sec-gpc"], max_age=600)  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") == PATH:
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install(app: FastAPI, intake: Intake, settings: IntakeSettings, limiter: Limiter) -> None:
    """The decision endpoint and its CORS on intake's app."""
    gate = tag_gate(intake, settings)
    if gate is not None:
        intake.background.append(("tag-gate-evidence", gate.run, lambda: gate.last_loop_at))
    app.add_middleware(ScopedCors, origins=settings.tag_gate_origins)

    @app.post(PATH, response_model=TagDecisions, tags=["tags"], responses=problems(429))
    @limiter.limit(settings.tag_decision_rate_limit)
    def decide_tags(request: Request, body: TagDecisionRequest) -> TagDecisions:
        """Which of the page's tags may load for this browser: sale and sharing never with GPC or an opt-out."""
        if gate is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, NO_REGISTRY)
        return gate.decide(body, carries_gpc(request) or body.gpc)
