"""Hostile or careless input at the public door: bounded, refused with a clear status, never echoed, never a 5xx,
and never able to stall what is submitted after it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devtools.local.pipeline import Pipeline
from services.common.sensitive import SENSITIVE_CATEGORIES
from tests.support import wait_for_entries

pytestmark = pytest.mark.e2e

CANARY = "canary.key@example.com"
MB = 1024 * 1024


def post(pipeline: Pipeline, content: bytes | Iterator[bytes], **headers: str) -> httpx.Response:
    with httpx.Client(timeout=30) as client:
        return client.post(f"{pipeline.intake.url}/v1/requests", content=content,
                           headers={"Content-Type": "application/json", **headers})  # fmt: skip


def rss_bytes(pipeline: Pipeline) -> int:
    assert pipeline.intake.process is not None
    status = Path(f"/proc/{pipeline.intake.process.pid}/status").read_text()
    kilobytes = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return kilobytes * 1024


@pytest.mark.parametrize(
    "body",
    [
        {"type": "limit", "identifiers": {"email": "a@example.com"}, "limit_categories": ["health"] * 200_000},
        {"type": "correct", "identifiers": {"email": "a@example.com"}, "corrections": {"postal_code": "9" * 1_200_000}},
    ],
    ids=["limit-200k-categories", "correct-1.2MB-value"],
)
def test_an_oversized_body_is_refused_with_413_and_what_follows_still_reaches_audit(
    shared_pipeline: Pipeline, body: dict[str, object]
) -> None:
    refused = post(shared_pipeline, json.dumps(body).encode())
    assert refused.status_code == 413, refused.text
    assert "too large" in refused.json()["detail"] and "a@example.com" not in refused.text
    later = [post(shared_pipeline, json.dumps({"type": "opt_out", "identifiers": {"device_id": f"d-{i}"}}).encode())
             for i in range(3)]  # fmt: skip
    assert [response.status_code for response in later] == [202] * 3
    with httpx.Client(timeout=10) as client:
        for response in later:
            wait_for_entries(client, shared_pipeline.audit.url, response.json()["request_id"], shared_pipeline.auth,
                             ["RequestSubmitted"], timeout=30)  # fmt: skip


def test_a_chunked_body_without_length_is_cut_off_at_the_limit(shared_pipeline: Pipeline) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"type": "opt_out", "identifiers": {"device_id": "'
        for _ in range(64):
            yield b"x" * 65536
        yield b'"}}'

    assert post(shared_pipeline, chunks()).status_code == 413


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        (
            {
                "type": "limit",
                "identifiers": {"email": "a@example.com"},
                "limit_categories": [*SENSITIVE_CATEGORIES, "health"],
            },
            "limit_categories",
        ),
        ({"type": "limit", "identifiers": {"email": "a@example.com"}, "limit_categories": ["health", "health"]}, ""),
        (
            {"type": "correct", "identifiers": {"email": "a@example.com"}, "corrections": {"postal_code": "9" * 1001}},
            "corrections.*",
        ),
        (
            {
                "type": "correct",
                "identifiers": {"email": "a@example.com"},
                "corrections": {f"field_{i}": "v" for i in range(51)},
            },
            "corrections",
        ),
        (
            {
                "type": "delete",
                "identifiers": {"email": "a@example.com"},
                "verification": {"data_points": {f"point_{i}": "v" for i in range(11)}},
            },
            "verification.data_points",
        ),
    ],
    ids=["12-categories", "repeated-category", "1001-char-value", "51-corrections", "11-data-points"],
)
def test_every_field_is_bounded(shared_pipeline: Pipeline, body: dict[str, object], rule: str) -> None:
    response = post(shared_pipeline, json.dumps(body).encode())
    assert response.status_code == 422, response.text
    assert any(error["field"].startswith(rule) for error in response.json()["detail"]), response.text


@pytest.mark.parametrize(
    "body",
    [
        {"type": "delete", "identifiers": {"email": "a@example.com", CANARY: "x"}},
        {"type": "correct", "identifiers": {"email": "a@example.com"}, "corrections": {CANARY: "x"}},
        {"type": "delete", "identifiers": {"email": "a@example.com"}, "verification": {"data_points": {CANARY: "x"}}},
        {"type": "limit", "identifiers": {"email": "a@example.com"}, "limit_categories": [CANARY]},
        {"type": "delete", "identifiers": {"email": "a@example.com"}, CANARY: {CANARY: CANARY}},
    ],
    ids=["identifiers-key", "corrections-key", "data-points-key", "category", "top-level-key"],
)
def test_a_422_never_echoes_a_submitted_key_or_value(shared_pipeline: Pipeline, body: dict[str, object]) -> None:
    response = post(shared_pipeline, json.dumps(body).encode())
    assert response.status_code == 422, response.text
    assert "canary" not in response.text.lower()
    assert response.json()["detail"], "the error still says what is wrong"


@pytest.mark.parametrize(
    "query",
    [
        "format=json&expires=1&signature=" + "é" * 64,
        "format=json&expires=99999999999999999999999999&signature=" + "a" * 64,
        "format=json&expires=-5&signature=" + "a" * 64,
        "format=json&expires=1&signature=" + "a" * 64,
        "format=pdf&expires=1&signature=" + "a" * 64,
        "expires=abc&signature=x",
        "",
    ],
)
@pytest.mark.parametrize("request_id", ["00000000-0000-4000-8000-000000000000", "%00", "..%2F..%2Fetc", "é" * 300])
def test_the_public_report_route_never_answers_5xx(shared_pipeline: Pipeline, request_id: str, query: str) -> None:
    with httpx.Client(timeout=10) as client:
        response = client.get(f"{shared_pipeline.intake.url}/v1/requests/{request_id}/report?{query}")
    assert 400 <= response.status_code < 500, (response.status_code, response.text)


def test_large_concurrent_bodies_are_refused_before_they_are_read(shared_pipeline: Pipeline) -> None:
    before = rss_bytes(shared_pipeline)
    body = b"{" + b" " * (50 * MB) + b"}"
    codes: list[int | str] = []

    def send() -> None:
        try:
            codes.append(post(shared_pipeline, body).status_code)
        except httpx.HTTPError as exc:  # the server may close the connection before the client has sent it all
            codes.append(type(exc).__name__)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(codes) == 8 and 200 not in codes and 202 not in codes, codes
    assert rss_bytes(shared_pipeline) - before < 40 * MB, "intake read a 50 MB body into memory"
