"""The request mix of a chaos run, and the client that submits it: every request type, against real demo customers
so that know, delete and correct are verified and acted on; each customer acted on by one request only."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from chaos.timelines import Kind

# Shares of the mix; opt-outs need no verification and are the cheapest, deletions the dearest.
MIX: tuple[tuple[Kind, int], ...] = (
    (Kind.KNOW, 16), (Kind.DELETE, 12), (Kind.CORRECT, 8), (Kind.DENIED, 4),
    (Kind.OPT_OUT, 20), (Kind.OPT_OUT_GPC, 12), (Kind.LIMIT, 14), (Kind.OPT_IN, 14),
)  # fmt: skip
RETRYABLE = frozenset({429, 500, 502, 503, 504})


@dataclass
class Planned:
    """One request to send, and what became of it."""

    index: int
    kind: Kind
    body: dict[str, Any]
    headers: dict[str, str]
    request_id: str | None = None
    accepted_at: float | None = None
    attempts: int = 0
    refusal: str | None = None  # why it was not accepted (a 4xx, or retries ran out)


def plan(customers: Sequence[dict[str, Any]], count: int, seed: int = 11) -> list[Planned]:
    """`count` requests in a shuffled mix; each verifiable request has a customer of its own."""
    rng = random.Random(seed)
    kinds = [kind for kind, share in MIX for _ in range(share)]
    chosen = [kinds[i % len(kinds)] for i in range(count)]
    rng.shuffle(chosen)
    people = iter(rng.sample(list(customers), min(len(customers), count)))
    run = uuid.uuid4().hex[:8]
    return [_planned(i, kind, people, run, rng) for i, kind in enumerate(chosen)]


def _planned(index: int, kind: Kind, people: Iterator[dict[str, Any]], run: str, rng: random.Random) -> Planned:
    headers = {"Idempotency-Key": f"chaos-{run}-{index}"}
    if kind is Kind.OPT_OUT_GPC:
        headers["Sec-GPC"] = "1"
    if kind is Kind.DENIED:
        # Nobody the company knows: denied with one message whether or not we hold data.
        body = {"type": rng.choice(["delete", "know_specific"]), "channel": "web_form",
                "identifiers": {"email": f"nobody-{run}-{index}@example.org"},
                "verification": {"data_points": {"name": "No Body", "postal_code": "00000"}}}  # fmt: skip
        return Planned(index, kind, body, headers)
    return Planned(index, kind, _body(kind, next(people), rng), headers)


def _body(kind: Kind, person: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    email = {"email": person["email"]}
    points = {"name": person["full_name"], "postal_code": person["postal_code"],
              "date_of_birth": person["date_of_birth"]}  # fmt: skip
    if kind is Kind.KNOW:
        specific = rng.random() < 0.5
        return {
            "type": "know_specific" if specific else "know_categories",
            "channel": "web_form",
            "identifiers": email,
            "verification": {"data_points": points, "signed_declaration": specific},
        }
    if kind is Kind.DELETE:
        return {"type": "delete", "channel": "web_form", "identifiers": email,
                "verification": {"data_points": points}}  # fmt: skip
    if kind is Kind.CORRECT:
        return {"type": "correct", "channel": "web_form", "identifiers": {"account_id": person["account_id"]},
                "verification": {"data_points": points}, "corrections": {"postal_code": "94107"}}  # fmt: skip
    if kind is Kind.LIMIT:
        return {"type": "limit", "channel": "web_form", "identifiers": email,
                "limit_categories": ["precise_geolocation", "health"]}  # fmt: skip
    request_type = "opt_in" if kind is Kind.OPT_IN else "opt_out"
    identifiers = {**email, "device_id": f"browser-{person['account_id']}"} if kind is Kind.OPT_OUT_GPC else email
    return {"type": request_type, "channel": "web_form", "identifiers": identifiers}


@dataclass
class Submitter:
    """POSTs requests to intake; on a connection error or a 5xx retries with the same Idempotency-Key, so a 202
    lost with a killed process is asked for again and counted once."""

    intake_url: str
    give_up_after: float = 180.0
    stopping: threading.Event = field(default_factory=threading.Event)

    def submit(self, request: Planned) -> None:
        deadline = time.monotonic() + self.give_up_after
        with httpx.Client(base_url=self.intake_url, timeout=30) as client:
            while not self.stopping.is_set():
                request.attempts += 1
                try:
                    response = client.post("/v1/requests", json=request.body, headers=request.headers)
                except httpx.TransportError:
                    response = None
                if response is not None and response.status_code == 202:
                    request.request_id, request.accepted_at = str(response.json()["request_id"]), time.time()
                    return
                if response is not None and response.status_code not in RETRYABLE:
                    request.refusal = f"{response.status_code}"
                    return
                if time.monotonic() > deadline:
                    request.refusal = "gave up" if response is None else f"{response.status_code} until giving up"
                    return
                time.sleep(0.5)
