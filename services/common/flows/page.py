"""Inline tag decisions for a product site's pages (FastAPI, Starlette, any ASGI app): middleware that decides the
page's browser-tag flows server-side and hands the answer to the template, which inlines it for the tag gate so the
browser needs no call of its own. docs/flows.md, "Web pages: the tag gate"."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import httpx

from services.common.flows.decision import Decider, Deny
from services.common.flows.vocabulary import DenyReason

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
HONOURED = "Opt-Out Request Honored"  # §7025(c)(6)
STATE_KEY = "tag_decisions"  # request.state.tag_decisions
INLINE_ID = "ccpa-tag-decisions"  # the element tag-gate.js reads


@dataclass(frozen=True)
class TagDecisions:
    """Which of a page's tag flows may load for this browser, and the words to show when its GPC was honoured."""

    allowed: dict[str, bool]
    reasons: dict[str, str] = field(default_factory=dict)
    gpc: bool = False
    honoured: str | None = None

    def answer(self) -> dict[str, Any]:
        """The decision endpoint's answer shape, which tag-gate.js reads."""
        reasons = self.reasons
        decisions = [{"flow": name, "allowed": ok, "reason": reasons.get(name)} for name, ok in self.allowed.items()]
        return {"decisions": decisions, "gpc": self.gpc, "honoured": self.honoured}

    def inline(self) -> str:
        """The answer as the body of <script type="application/json" id="ccpa-tag-decisions">, safe inside HTML."""
        return json.dumps(self.answer()).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")

    @classmethod
    def of(cls, answer: dict[str, Any]) -> TagDecisions:
        """From the decision endpoint's JSON answer."""
        decisions = answer["decisions"]
        return cls(allowed={d["flow"]: d["allowed"] is True for d in decisions},
                   reasons={d["flow"]: d["reason"] for d in decisions if d.get("reason")},
                   gpc=answer.get("gpc") is True, honoured=answer.get("honoured"))  # fmt: skip


DecideTags = Callable[[Scope, Sequence[str], bool], TagDecisions]


def gpc_requested(scope: Scope) -> bool:
    """GPC spec: the header value must be exactly "1"; with several Sec-GPC headers, any exact "1" counts."""
    return any(name.lower() == b"sec-gpc" and value == b"1" for name, value in scope.get("headers", []))


def from_decider(decider: Decider, subject_keys: Callable[[Scope], Iterable[str]]) -> DecideTags:
    """Decide in-process with a Decider (a service holding the state cache); `subject_keys`: this visitor's keys."""

    def decide(scope: Scope, flows: Sequence[str], gpc: bool) -> TagDecisions:
        keys = list(subject_keys(scope))
        decisions = {flow: decider.decide(keys, flow, gpc=gpc) for flow in flows}
        reasons = {flow: d.reason.value for flow, d in decisions.items() if isinstance(d, Deny)}
        honoured = HONOURED if gpc and DenyReason.GPC.value in reasons.values() else None
        return TagDecisions({flow: bool(d) for flow, d in decisions.items()}, reasons, gpc, honoured)

    return decide


def from_endpoint(url: str, device_of: Callable[[Scope], str | None], timeout: float = 2.0) -> DecideTags:
    """Ask intake's decision endpoint (`url`: .../v1/tags/decisions) server-side, forwarding the browser's GPC."""
    client = httpx.Client(timeout=timeout)

    def decide(scope: Scope, flows: Sequence[str], gpc: bool) -> TagDecisions:
        device_id = device_of(scope)
        if device_id is None:
            raise LookupError("no visitor id for this request")
        headers = {"Sec-GPC": "1"} if gpc else {}
        response = client.post(url, json={"flows": list(flows), "device_id": device_id}, headers=headers)
        response.raise_for_status()
        return TagDecisions.of(response.json())

    return decide


class TagDecisionMiddleware:
    """Decides `flows` for each GET of one of `paths` (exact paths) and puts the answer on request.state.tag_decisions.
    When deciding fails the state holds None: the template then inlines nothing and the gate in the page asks (or
    fails closed) itself."""

    def __init__(self, app: ASGIApp, flows: Sequence[str], decide: DecideTags, paths: Sequence[str] = ("/",)) -> None:
        self.app = app
        self.flows = tuple(flows)
        self.decide = decide
        self.paths = tuple(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "GET" and scope.get("path") in self.paths:
            state = scope.setdefault("state", {})
            try:
                state[STATE_KEY] = await anyio.to_thread.run_sync(self.decide, scope, self.flows, gpc_requested(scope))
            except Exception:  # the gate in the page decides instead; sale and sharing never load on a guess
                log.warning("tag decisions not inlined: the decision could not be made server-side")
                state[STATE_KEY] = None
        await self.app(scope, receive, send)
