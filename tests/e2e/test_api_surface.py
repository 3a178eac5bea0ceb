"""Every service's HTTP surface as an outsider meets it: each caller opens only the routes it needs, the internal
services keep their docs and metrics behind a token, and schemathesis finds no 5xx and no answer the OpenAPI
document does not declare."""

from __future__ import annotations

import contextlib
import re
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup

from tests.e2e.demo_world import World

pytestmark = pytest.mark.e2e

UNKNOWN = "00000000-0000-4000-8000-000000000000"
CALLERS = ("operator", "intake", "monitoring", "nobody", "forged")


@pytest.fixture
def world(full_world: World) -> World:
    return full_world


def headers_of(world: World, caller: str) -> dict[str, str]:
    if caller == "nobody":
        return {}
    if caller == "forged":
        return {"Authorization": "Bearer " + "f" * 43}
    return world.pipeline.auth if caller == "operator" else world.pipeline.auth_of(caller)


def url_of(world: World, service: str) -> str:
    process = getattr(world.pipeline, service)
    assert process is not None, f"{service} runs in this world"
    return str(process.url)


# (service, method, path, json body, the callers that get past authentication and authorisation)
ROUTES: list[tuple[str, str, str, dict[str, Any] | None, set[str]]] = [
    ("intake", "GET", f"/v1/requests/{UNKNOWN}", None, {"operator"}),
    ("intake", "POST", f"/v1/requests/{UNKNOWN}/extend", {"reason": "we need more time to search"}, {"operator"}),
    ("intake", "POST", "/v1/consent/lookup", {"identifiers": {"device_id": "d-1"}}, {"operator", "intake"}),
    ("intake", "GET", "/metrics", None, {"operator", "monitoring"}),
    ("audit", "GET", f"/v1/requests/{UNKNOWN}/timeline", None, {"operator"}),
    ("audit", "GET", "/v1/subjects/" + "a" * 64 + "/consent", None, {"operator"}),
    ("audit", "GET", "/metrics", None, {"operator", "monitoring"}),
    ("audit", "GET", "/v1/records", None, {"operator"}),
    ("audit", "GET", "/v1/metrics/7102?year=2026", None, {"operator"}),
    ("audit", "GET", "/openapi.json", None, {"operator"}),
    ("discovery", "GET", f"/internal/v1/reports/{UNKNOWN}/json", None, {"intake"}),
    ("discovery", "GET", "/metrics", None, {"operator", "monitoring"}),
    ("discovery", "GET", "/openapi.json", None, {"operator"}),
    ("deletion", "POST", "/v1/legal-holds", {}, {"operator"}),
    ("deletion", "DELETE", "/v1/legal-holds/no-such-hold", None, {"operator"}),
    ("deletion", "GET", "/v1/legal-holds", None, {"operator"}),
    ("deletion", "GET", f"/v1/requests/{UNKNOWN}/recipients", None, {"operator"}),
    ("deletion", "POST", f"/v1/requests/{UNKNOWN}/recipients/{UNKNOWN}/confirm", {"note": "by phone"}, {"operator"}),
    ("deletion", "POST", f"/v1/requests/{UNKNOWN}/recipients/{UNKNOWN}/resend", {"reason": "again"}, {"operator"}),
    ("deletion", "GET", "/metrics", None, {"operator", "monitoring"}),
    ("deletion", "GET", "/openapi.json", None, {"operator"}),
    ("optout", "GET", "/v1/consent/" + "a" * 64, None, {"operator", "intake"}),
    ("optout", "GET", "/metrics", None, {"operator", "monitoring"}),
    ("optout", "GET", "/openapi.json", None, {"operator"}),
]


@pytest.mark.parametrize(("service", "method", "path", "body", "allowed"), ROUTES,
                         ids=[f"{r[0]}-{r[1]}-{r[2].split('/')[-1] or r[2]}" for r in ROUTES])  # fmt: skip
def test_each_caller_opens_only_the_routes_it_needs(
    world: World, service: str, method: str, path: str, body: dict[str, Any] | None, allowed: set[str]
) -> None:
    answers = {}
    with httpx.Client(base_url=url_of(world, service), timeout=10) as client:
        for caller in CALLERS:
            answers[caller] = client.request(method, path, json=body, headers=headers_of(world, caller)).status_code
    expected = {caller: "in" if caller in allowed else (403 if caller in ("operator", "intake", "monitoring") else 401)
                for caller in CALLERS}  # fmt: skip
    seen = {caller: "in" if code not in (401, 403) else code for caller, code in answers.items()}
    assert seen == expected, answers


def test_a_refusal_names_the_missing_scope_and_never_the_token(world: World) -> None:
    token = world.pipeline.auth_of("intake")["Authorization"].split()[1]
    response = httpx.get(f"{url_of(world, 'audit')}/v1/requests/{UNKNOWN}/timeline",
                         headers=world.pipeline.auth_of("intake"))  # fmt: skip
    assert response.status_code == 403 and "timeline:read" in response.json()["detail"]
    assert token not in response.text


@pytest.mark.parametrize("service", ["audit", "discovery", "deletion", "optout"])
def test_internal_services_publish_no_docs(world: World, service: str) -> None:
    with httpx.Client(base_url=url_of(world, service), timeout=10) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/redoc").status_code == 404
        assert client.get("/openapi.json").status_code == 401


def test_the_public_docs_load_nothing_from_another_host(world: World) -> None:
    with httpx.Client(base_url=url_of(world, "intake"), timeout=10) as client:
        page = client.get("/docs")
        assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
        fetched = [client.get(asset) for asset in assets]
    assert page.status_code == 200 and assets
    assert all(asset.startswith("/") for asset in assets), assets
    assert [response.status_code for response in fetched] == [200] * len(assets)


# --- schemathesis: every operation of every service, a bounded and seeded number of cases ---------------------------

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
# Which caller each service is fuzzed as: the one its protected routes are for.
FUZZ_AS = {"intake": "operator", "audit": "operator", "discovery": "intake", "deletion": "operator",
           "optout": "intake"}  # fmt: skip
CASES_PER_OPERATION = 30


def operations(world: World, service: str) -> list[Any]:
    document = httpx.get(f"{url_of(world, service)}/openapi.json", headers=world.pipeline.auth, timeout=10).json()
    return [result.ok() for result in schemathesis.openapi.from_dict(document).get_all_operations()]


def fuzz_operation(world: World, service: str, operation: Any, mode: GenerationMode) -> tuple[int, list[str]]:
    """Run the operation's cases: how many ran, and the failures (a case stops at its first failed check)."""
    ran, failures = 0, []

    @settings(max_examples=CASES_PER_OPERATION, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])  # fmt: skip
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        nonlocal ran
        ran += 1
        try:
            case.call_and_validate(base_url=url_of(world, service), headers=headers_of(world, FUZZ_AS[service]),
                                   checks=CHECKS, timeout=30)  # fmt: skip
        except (AssertionError, FailureGroup) as exc:  # a case's failed checks, grouped
            failures.append(f"{operation.label} [{mode.value}]: {str(exc).splitlines()[:12]}")

    with contextlib.suppress(Unsatisfiable):  # nothing invalid can be made for it (no parameters, no body)
        run()
    return ran, failures


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("service", list(FUZZ_AS))
def test_no_input_gets_a_5xx_or_an_undeclared_answer(world: World, service: str, mode: GenerationMode) -> None:
    results = {
        operation.label: fuzz_operation(world, service, operation, mode) for operation in operations(world, service)
    }
    found = [failure for _, failures in results.values() for failure in failures]
    assert not found, "\n".join(found[:20])
    if mode is GenerationMode.POSITIVE:
        assert all(ran for ran, _ in results.values()), {label: ran for label, (ran, _) in results.items()}
