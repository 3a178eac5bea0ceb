"""A demo customer who opts out, as a consumer whose browser sends Global Privacy Control does: an opt-out request
through intake's API with Sec-GPC, waited for until optout applied it and audit holds the consent change."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from devtools.demo.company import Customer
from services.common.settings import decode_key
from services.console.subjects import subject_of
from tests.e2e.demo_world import World
from tests.support import wait_for


@dataclass(frozen=True)
class OptedOut:
    request_id: str
    subject_key: str


def opt_out_with_gpc(world: World, customer: Customer) -> OptedOut:
    sent = httpx.post(f"{world.pipeline.intake.url}/v1/requests", headers={"Sec-GPC": "1"}, timeout=10,
                      json={"type": "opt_out", "identifiers": {"email": customer.email}})  # fmt: skip
    assert sent.status_code == 202, sent.text
    secret = decode_key(world.pipeline.secrets["CCPA_SUBJECT_KEY_SECRET"], "CCPA_SUBJECT_KEY_SECRET")
    opted = OptedOut(sent.json()["request_id"], subject_of(secret, "email", customer.email).subject_key)

    def applied() -> bool:
        auth = world.pipeline.auth
        state = httpx.get(f"{world.pipeline.optout.url}/v1/consent/{opted.subject_key}", headers=auth).json()
        history = httpx.get(f"{world.pipeline.audit.url}/v1/subjects/{opted.subject_key}/consent", headers=auth)
        return state.get("sale_opt_out") is True and history.status_code == 200

    wait_for(applied, timeout=60, interval=0.5, what="the opt-out applied and on audit")
    return opted
