"""A subject key's consent history on audit, through HTTP against the real pipeline: a product service's GPC signal
without a request shows up beside intake's GPC of an opt-out request, in order and a page at a time; an unknown
key is a 404, a malformed one a 422 that does not repeat it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devtools.local.pipeline import Pipeline
from services.common.settings import decode_key
from services.optout.sdk import ConsentEvents
from tests.support import wait_for

pytestmark = pytest.mark.integration

EMAIL = "consent.history@example.com"


def product_events(pipeline: Pipeline) -> ConsentEvents:
    secret = decode_key(pipeline.secrets["CCPA_SUBJECT_KEY_SECRET"], "CCPA_SUBJECT_KEY_SECRET")
    return ConsentEvents({"bootstrap.servers": pipeline.config.bootstrap_servers}, secret, "web-shop",
                         pipeline.config.topic_namespace)  # fmt: skip


def consent_of(client: httpx.Client, pipeline: Pipeline, subject_key: str, **params: Any) -> httpx.Response:
    return client.get(f"{pipeline.audit.url}/v1/subjects/{subject_key}/consent", headers=pipeline.auth,
                      params=params)  # fmt: skip


def test_consent_changes_with_and_without_a_request_are_readable_per_subject_key(shared_pipeline: Pipeline) -> None:
    pipeline, events = shared_pipeline, product_events(shared_pipeline)
    try:
        signal = events.gpc("email", EMAIL)  # a product service saw Sec-GPC: 1; no request
    finally:
        events.close()
    subject_key = signal.subject_key
    with httpx.Client(timeout=10) as client:
        opt_out = client.post(f"{pipeline.intake.url}/v1/requests", headers={"Sec-GPC": "1"},
                              json={"type": "opt_out", "identifiers": {"email": EMAIL}})  # fmt: skip
        assert opt_out.status_code == 202, opt_out.text
        request_id = opt_out.json()["request_id"]

        def both() -> dict[str, Any] | None:
            response = consent_of(client, pipeline, subject_key)
            body: dict[str, Any] = response.json()
            return body if response.status_code == 200 and len(body["changes"]) == 2 else None

        history = wait_for(both, what="both consent changes on audit")
        first_page = consent_of(client, pipeline, subject_key, limit=1).json()
        second_page = consent_of(client, pipeline, subject_key, limit=1, cursor=first_page["next_cursor"]).json()
        unknown = consent_of(client, pipeline, "0" * 64)
        malformed = consent_of(client, pipeline, "consent.history@example.com")

    without, with_request = history["changes"]
    assert (without["event_id"], without["request_id"], without["producer"]) == (signal.event_id, None, "web-shop")
    assert without["details"]["source"] == "gpc" and without["details"]["sale_opt_out"] is True
    assert without["source"]["topic"].endswith("privacy.consent.changes") and without["source"]["offset"] >= 0
    assert (with_request["request_id"], with_request["producer"]) == (request_id, "intake")
    assert "identifiers" not in with_request["details"]  # sealed values stay off the read side
    assert without["occurred_at"] <= with_request["occurred_at"]
    paged = [change["event_id"] for change in first_page["changes"] + second_page["changes"]]
    assert paged == [without["event_id"], with_request["event_id"]]
    assert second_page["next_cursor"] is None
    assert unknown.status_code == 404 and unknown.json()["detail"] == "no consent change recorded for this subject key"
    assert malformed.status_code == 422 and "consent.history" not in malformed.text
