"""The tag gate's decisions: intake's TagGate over the opt-out service's answer (GPC and an opt-out stop the sharing
tag and say so, the service provider's tag still loads, an unanswering opt-out service holds sale/sharing back, every
denial is evidence), and the SDK's middleware that inlines the answer into a page."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from services.common.flows import Decider, FlowRule, Relation, SubjectState
from services.common.flows.page import INLINE_ID, TagDecisionMiddleware, TagDecisions, from_decider
from services.intake.consent import OptoutUnavailable
from services.intake.flows_api import HONOURED, TagDecisionRequest, TagGate, subject_state

PIXEL = FlowRule("adreach-pixel", "adreach", Relation.SHARING, "browser_tag", frozenset(), permitted=False)
ANALYTICS = FlowRule("metricly-analytics", "metricly", Relation.SERVICE_PROVIDER, "browser_tag", frozenset(), True)
EVENTS = FlowRule("adreach-events", "adreach", Relation.SHARING, "server_api", frozenset(), permitted=False)
RULES = {rule.name: rule for rule in (PIXEL, ANALYTICS, EVENTS)}
DEVICE_KEY = "d3" * 32
NO_CHOICE = {"known": False, "sale_opt_out": False, "share_opt_out": False, "limit_sensitive": []}
OPTED_OUT = {"known": True, "version": 3, "sale_opt_out": True, "share_opt_out": True, "limit_sensitive": []}


class Evidence:
    def __init__(self) -> None:
        self.recorded: list[tuple[str, str, str]] = []
        self.flushes = 0
        self.closed = False

    def record(self, subject_key: str, denial: Any, rule: FlowRule) -> None:
        self.recorded.append((subject_key, denial.flow, denial.reason.value))

    def flush(self, timeout: float = 30.0) -> int:
        self.flushes += 1
        return len(self.recorded)

    def close(self) -> None:
        self.closed = True


def gate(answer: dict[str, Any] | None) -> tuple[TagGate, Evidence]:
    def state_of(_key: str) -> dict[str, Any]:
        if answer is None:
            raise OptoutUnavailable("the opt-out service does not answer")
        return answer

    intake = SimpleNamespace(service=SimpleNamespace(subject_of=lambda _ids: SimpleNamespace(subject_key=DEVICE_KEY)),
                             consent=SimpleNamespace(state_of=state_of))  # fmt: skip
    evidence = Evidence()
    return TagGate(intake, RULES, evidence), evidence  # type: ignore[arg-type]


def ask(*flows: str) -> TagDecisionRequest:
    return TagDecisionRequest(flows=list(flows), device_id="v-0123456789abcdef")


def allowed(answer: Any) -> dict[str, tuple[bool, str | None]]:
    return {d.flow: (d.allowed, d.reason) for d in answer.decisions}


def test_gpc_stops_the_sharing_tag_loads_the_service_provider_s_and_says_honoured() -> None:
    tag_gate, evidence = gate(NO_CHOICE)
    answer = tag_gate.decide(ask("adreach-pixel", "metricly-analytics"), gpc=True)
    assert allowed(answer) == {"adreach-pixel": (False, "gpc"), "metricly-analytics": (True, None)}
    assert answer.honoured == HONOURED
    assert evidence.recorded == [(DEVICE_KEY, "adreach-pixel", "gpc")]
    assert evidence.flushes == 0, "publishing is off the request path: a broker away never slows the page's answer"


def test_the_gate_publishes_its_evidence_in_the_background_and_once_more_at_shutdown() -> None:
    tag_gate, evidence = gate(NO_CHOICE)
    tag_gate.decide(ask("adreach-pixel"), gpc=True)
    stop = threading.Event()
    worker = threading.Thread(target=tag_gate.run, args=(stop,))
    worker.start()
    stop.set()
    worker.join(10)
    assert evidence.flushes >= 1 and evidence.closed


def test_an_opt_out_on_record_stops_the_sharing_tag_without_gpc_and_claims_no_gpc() -> None:
    tag_gate, evidence = gate(OPTED_OUT)
    answer = tag_gate.decide(ask("adreach-pixel", "metricly-analytics"), gpc=False)
    assert allowed(answer) == {"adreach-pixel": (False, "share_opt_out"), "metricly-analytics": (True, None)}
    assert answer.honoured is None and evidence.recorded == [(DEVICE_KEY, "adreach-pixel", "share_opt_out")]


def test_no_choice_loads_both_tags_and_records_nothing() -> None:
    tag_gate, evidence = gate(NO_CHOICE)
    answer = tag_gate.decide(ask("adreach-pixel", "metricly-analytics"), gpc=False)
    assert allowed(answer) == {"adreach-pixel": (True, None), "metricly-analytics": (True, None)}
    assert evidence.recorded == []


def test_without_the_opt_out_service_sharing_fails_closed_and_the_service_provider_still_loads() -> None:
    tag_gate, _evidence = gate(None)
    answer = tag_gate.decide(ask("adreach-pixel", "metricly-analytics"), gpc=False)
    assert allowed(answer) == {"adreach-pixel": (False, "state_unknown"), "metricly-analytics": (True, None)}


def test_a_server_flow_or_an_unknown_name_is_no_tag_a_page_may_load() -> None:
    tag_gate, evidence = gate(NO_CHOICE)
    answer = tag_gate.decide(ask("adreach-events", "mystery-pixel"), gpc=False)
    assert allowed(answer) == {"adreach-events": (False, "not_registered"), "mystery-pixel": (False, "not_registered")}
    assert evidence.recorded == []


def test_the_opt_out_service_s_answer_becomes_a_state() -> None:
    assert subject_state(NO_CHOICE) is None
    assert subject_state({**OPTED_OUT, "limit_sensitive": ["health"]}) == SubjectState(
        3, True, True, frozenset({"health"})
    )
    # The request whose change made the state travels with it, so a blocked tag lands on that request's timeline.
    request_id = "0b7d1c2e-3f4a-4b5c-8d6e-7f8091a2b3c4"
    assert subject_state({**OPTED_OUT, "request_id": request_id}) == SubjectState(
        3, True, True, frozenset(), request_id
    )


class States:
    def __init__(self, states: dict[str, SubjectState]) -> None:
        self.states = states

    def get(self, subject_key: str) -> SubjectState | None:
        return self.states.get(subject_key)

    def fresh(self) -> bool:
        return True


def page_app(decide: Any) -> Starlette:
    def page(request: Request) -> JSONResponse:
        decisions = request.state.tag_decisions
        return JSONResponse(None if decisions is None else {"inline": decisions.inline(), **decisions.answer()})

    app = Starlette(routes=[Route("/", page)])
    app.add_middleware(TagDecisionMiddleware, flows=["adreach-pixel", "metricly-analytics"], decide=decide)
    return app


def test_the_middleware_inlines_the_decider_s_answer_for_the_page() -> None:
    decider = Decider(RULES, States({DEVICE_KEY: SubjectState(2, False, True)}))
    client = TestClient(page_app(from_decider(decider, lambda _scope: [DEVICE_KEY])))
    body = client.get("/").json()
    assert [(d["flow"], d["allowed"], d["reason"]) for d in body["decisions"]] == [
        ("adreach-pixel", False, "share_opt_out"), ("metricly-analytics", True, None)]  # fmt: skip
    with_gpc = client.get("/", headers={"Sec-GPC": "1"}).json()
    assert with_gpc["gpc"] is True and with_gpc["honoured"] == HONOURED
    assert client.get("/", headers={"Sec-GPC": "true"}).json()["gpc"] is False


def test_a_failed_decision_inlines_nothing_so_the_page_s_gate_decides() -> None:
    def broken(*_args: Any) -> TagDecisions:
        raise ConnectionError("intake down")

    assert TestClient(page_app(broken)).get("/").json() is None


def test_the_inlined_answer_cannot_close_the_script_element() -> None:
    inline = TagDecisions({"</script><script>alert(1)</script>": False}).inline()
    assert "<" not in inline and ">" not in inline and INLINE_ID == "ccpa-tag-decisions"


def endpoint_app(origins: list[str]) -> TestClient:
    """The decision endpoint installed on a bare app, as intake installs it, with no data map configured."""
    from fastapi import FastAPI
    from slowapi import Limiter
    from slowapi.util import get_remote_address

    from services.common.http_guard import install_validation_errors
    from services.intake import flows_api

    app, limiter = FastAPI(), Limiter(key_func=get_remote_address)
    app.state.limiter = limiter
    install_validation_errors(app)
    settings = SimpleNamespace(datamap_path=None, tag_gate_origins=origins, tag_decision_rate_limit="100/minute")
    flows_api.install(app, SimpleNamespace(), settings, limiter)  # type: ignore[arg-type]
    return TestClient(app)


def test_without_a_data_map_the_endpoint_says_it_has_no_registry() -> None:
    answer = endpoint_app([]).post("/v1/tags/decisions", json={"flows": ["adreach-pixel"], "device_id": "v-12345678"})
    assert answer.status_code == 503 and "no registry of tag flows" in answer.json()["detail"]


def test_a_bad_body_is_a_422_that_echoes_nothing() -> None:
    email = "alice@example.com"
    answer = endpoint_app([]).post("/v1/tags/decisions", json={"flows": ["Ad Pixel!"], "device_id": email})
    assert answer.status_code == 422
    assert email not in answer.text and "Ad Pixel!" not in answer.text
    assert {problem["field"] for problem in answer.json()["detail"]} == {"flows.0", "device_id"}


def test_cors_opens_the_endpoint_to_the_storefront_origins_only() -> None:
    client = endpoint_app(["https://shop.example"])
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,sec-gpc"}
    allowed = client.options("/v1/tags/decisions", headers={"Origin": "https://shop.example", **preflight})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "https://shop.example"
    refused = client.options("/v1/tags/decisions", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers
    elsewhere = client.get("/docs", headers={"Origin": "https://shop.example"})
    assert "access-control-allow-origin" not in elsewhere.headers
