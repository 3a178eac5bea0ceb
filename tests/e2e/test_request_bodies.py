"""Request bodies a careless client sends, on every service: malformed or missing JSON is named as the body (not
as a character offset or an empty field), a body that is not JSON is a 415, and an oversized one a 413."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.demo_world import World

pytestmark = pytest.mark.e2e

SERVICES = ("intake", "audit", "discovery", "deletion", "optout")
# The routes that read a JSON body, each with the caller it is for.
JSON_ROUTES = [
    ("intake", "/v1/requests", "nobody"),
    ("intake", "/v1/consent/lookup", "operator"),
    ("intake", "/v1/requests/00000000-0000-4000-8000-000000000000/extend", "operator"),
    ("deletion", "/v1/legal-holds", "operator"),
    (
        "deletion",
        "/v1/requests/00000000-0000-4000-8000-000000000000/recipients/00000000-0000-4000-8000-000000000000/confirm",
        "operator",
    ),
]
IDS = [f"{service}-{path.split('/')[-1]}" for service, path, _ in JSON_ROUTES]


@pytest.fixture
def world(full_world: World) -> World:
    return full_world


def post(world: World, service: str, path: str, caller: str, content: bytes, content_type: str) -> httpx.Response:
    process = getattr(world.pipeline, service)
    headers = {"Content-Type": content_type}
    if caller != "nobody":
        headers |= world.pipeline.auth if caller == "operator" else world.pipeline.auth_of(caller)
    return httpx.post(f"{process.url}{path}", content=content, headers=headers, timeout=30)


@pytest.mark.parametrize(("service", "path", "caller"), JSON_ROUTES, ids=IDS)
def test_malformed_json_is_named_as_the_body_with_where_it_breaks(
    world: World, service: str, path: str, caller: str
) -> None:
    response = post(world, service, path, caller, b'{"type": "delete", "identifiers": {"email": "x@example.com"}, x}',
                    "application/json")  # fmt: skip
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["field"] == "body"
    assert problem["error"].startswith("not valid JSON at character 62: ")
    assert "x@example.com" not in response.text


@pytest.mark.parametrize(("service", "path", "caller"), JSON_ROUTES, ids=IDS)
def test_an_empty_body_is_named_as_the_missing_body(world: World, service: str, path: str, caller: str) -> None:
    response = post(world, service, path, caller, b"", "application/json")
    assert response.status_code == 422, response.text
    assert response.json() == {"detail": [{"field": "body", "error": "missing: send a JSON object"}]}


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "text/plain; x=<p@x.io>"])
@pytest.mark.parametrize(("service", "path", "caller"), JSON_ROUTES, ids=IDS)
def test_a_body_that_is_not_json_is_415_naming_the_type_to_send(
    world: World, service: str, path: str, caller: str, content_type: str
) -> None:
    response = post(world, service, path, caller, b'{"type": "opt_out"}', content_type)
    assert response.status_code == 415, response.text
    detail = response.json()["detail"]
    assert "Content-Type: application/json" in detail and "p@x.io" not in detail


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_refuses_a_body_over_64_kib_with_413(world: World, service: str) -> None:
    response = post(world, service, "/v1/anything", "operator", b"x" * (64 * 1024 + 1), "application/json")
    assert response.status_code == 413
    assert response.json()["detail"].startswith("request body too large: at most 65536 bytes")
    assert post(world, service, "/v1/anything", "operator", b"x" * 1024, "application/json").status_code != 413
