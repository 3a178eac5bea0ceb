"""The demo: submit requests of every type through intake's HTTP API, then print each one's audit timeline."""

from __future__ import annotations

import sys
import textwrap
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from devtools.demo import privacy_center, showcase
from devtools.demo.applicants import MIN_APPLICANTS, applicants
from devtools.demo.company import Customer, customers
from devtools.demo.generator import DATAMAP_PATH
from services.common.event_types import EventType


@dataclass
class DemoRequest:
    title: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    expected: tuple[EventType, ...] = (EventType.REQUEST_SUBMITTED,)
    request_id: str = ""
    status: str = ""


PROPAGATED = (
    EventType.REQUEST_SUBMITTED,
    EventType.OPT_OUT_STATE,
    EventType.OPT_OUT_APPLIED,
    EventType.REQUEST_COMPLETED,
    EventType.OPT_OUT_ACKNOWLEDGED,
)
DISCOVERED = (EventType.REQUEST_SUBMITTED, EventType.DISCOVERY_STARTED, EventType.DISCOVERY_COMPLETED)
ANSWERED = (*DISCOVERED, EventType.REPORT_READY, EventType.REQUEST_COMPLETED)
ERASED = (
    *DISCOVERED,
    EventType.STORE_ERASED,
    EventType.DELETION_VERIFIED,
    EventType.PROVIDER_CONFIRMED,
    EventType.DELETION_COMPLETED,
    EventType.REQUEST_COMPLETED,
)


def next_run(counter: Path) -> int:
    """Each demo run uses customers of its own, so opt-outs show their full effect again on a re-run."""
    run = int(counter.read_text()) + 1 if counter.exists() else 0
    counter.write_text(str(run))
    return run


def load_customers(identity_db: Path, limit: int, run: int = 0) -> list[Customer]:
    """`limit` customers from a new place each run; the first is a multiple of 10, present in every demo store."""
    engine = sa.create_engine(f"sqlite:///{identity_db}")
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(customers)).scalar_one()
        offset = (run * 10) % max(10, (total - limit) // 10 * 10)
        query = sa.select(customers).order_by(customers.c.account_id).offset(offset).limit(limit)
        rows = conn.execute(query).all()
    engine.dispose()
    fields = Customer.__dataclass_fields__
    return [Customer(**{k: v for k, v in row._mapping.items() if k in fields}) for row in rows]


def demo_requests(people: list[Customer]) -> list[DemoRequest]:
    a, b, f, d, e = people[:5]
    c = people[10]  # like a, in every demo store: the deletion reaches all of them
    applicant = applicants(MIN_APPLICANTS)[0]  # verified against the applications, never the customers
    return [
        DemoRequest(
            "know specific pieces, 3 data points + signed declaration",
            {
                "type": "know_specific",
                "channel": "web_form",
                "identifiers": {"email": a.email},
                "verification": {
                    "data_points": {
                        "name": a.full_name,
                        "postal_code": a.postal_code,
                        "date_of_birth": a.date_of_birth,
                    },
                    "signed_declaration": True,
                },
                "date_range": {"start": "2022-01-01"},
            },
            expected=ANSWERED,
        ),
        DemoRequest(
            "know specific pieces, only 2 data points: answered as categories (§7024(a))",
            {
                "type": "know_specific",
                "channel": "email",
                "identifiers": {"email": b.email},
                "verification": {"data_points": {"name": b.full_name}},
            },
            expected=ANSWERED,
        ),
        DemoRequest(
            "delete, verified",
            {
                "type": "delete",
                "channel": "web_form",
                "identifiers": {"email": c.email, "phone": c.phone},
                "verification": {"data_points": {"postal_code": c.postal_code}},
            },
            expected=ERASED,
        ),
        DemoRequest(
            "know categories, from a job applicant: their applications searched, no customer record",
            {
                "type": "know_categories",
                "channel": "web_form",
                "subject_type": "job_applicant",
                "identifiers": {"email": applicant.email},
                "verification": {"data_points": {"name": applicant.full_name, "postal_code": applicant.postal_code}},
            },
            expected=ANSWERED,
        ),
        DemoRequest(
            "delete from someone we cannot verify: denied",
            {"type": "delete", "channel": "phone", "identifiers": {"email": "someone.unknown@example.org"}},
            expected=(EventType.REQUEST_SUBMITTED, EventType.REQUEST_DENIED),
        ),
        DemoRequest(
            "correct a postal code",
            {
                "type": "correct",
                "channel": "web_form",
                "identifiers": {"account_id": d.account_id},
                "verification": {"data_points": {"name": d.full_name, "date_of_birth": d.date_of_birth}},
                "corrections": {"postal_code": "94107"},
            },
            expected=DISCOVERED,
        ),
        DemoRequest(
            "opt out of sale/sharing from a browser sending Sec-GPC: 1",
            {
                "type": "opt_out",
                "channel": "web_form",
                "identifiers": {"email": a.email, "device_id": f"browser-{a.account_id}"},
            },
            headers={"Sec-GPC": "1"},
            expected=(*PROPAGATED, EventType.CONSENT_CHANGED),
        ),
        DemoRequest(
            "opt out of sale/sharing with the web form",
            {"type": "opt_out", "channel": "web_form", "identifiers": {"email": f.email}},
            expected=PROPAGATED,
        ),
        DemoRequest(
            "opt back in to sale/sharing: the consumer who opted out with the web form above",
            {"type": "opt_in", "channel": "web_form", "identifiers": {"email": f.email}},
            expected=PROPAGATED,
        ),
        DemoRequest(
            "limit use of sensitive PI, through an authorized agent with signed permission",
            {
                "type": "limit",
                "channel": "agent_portal",
                "identifiers": {"email": e.email},
                "limit_categories": ["precise_geolocation", "health"],
                "authorized_agent": {"name": "Privacy Agents LLC", "signed_permission": True},
            },
            expected=PROPAGATED,
        ),
    ]


def submit_all(client: httpx.Client, requests: list[DemoRequest]) -> None:
    for index, request in enumerate(requests):
        headers = {"Idempotency-Key": f"demo-{time.time_ns()}-{index}", **request.headers}
        response = client.post("/v1/requests", json=request.body, headers=headers)
        response.raise_for_status()
        request.request_id, request.status = response.json()["request_id"], response.json()["status"]


def extend_first(client: httpx.Client, request: DemoRequest, token: str) -> None:
    response = client.post(
        f"/v1/requests/{request.request_id}/extend",
        headers={"Authorization": f"Bearer {token}"},
        json={"reason": "Records for this account span three systems and an archive."},
    )
    response.raise_for_status()
    request.expected = (*request.expected, EventType.REQUEST_EXTENDED)


def wait_for_timelines(
    audit: httpx.Client, token: str, requests: list[DemoRequest], timeout: float = 60.0
) -> dict[str, dict[str, Any]]:
    deadline, timelines = time.monotonic() + timeout, dict[str, dict[str, Any]]()
    headers = {"Authorization": f"Bearer {token}"}
    while time.monotonic() < deadline and len(timelines) < len(requests):
        for request in requests:
            response = audit.get(f"/v1/requests/{request.request_id}/timeline", headers=headers)
            if response.status_code == 200 and _holds(response.json(), request.expected):
                timelines[request.request_id] = response.json()
        time.sleep(0.2)
    missing = [r.title for r in requests if r.request_id not in timelines]
    if missing:
        raise RuntimeError(f"timelines incomplete after {timeout:.0f}s: {missing}")
    return timelines


def current_status(intake: httpx.Client, token: str, request: DemoRequest) -> str:
    """Intake's status of a request; for one audit saw completed, once intake has learnt its response too."""
    if EventType.REQUEST_COMPLETED in request.expected:
        return str(showcase.wait_for_status(intake, token, request.request_id, showcase.responded, 30.0)["status"])
    response = intake.get(f"/v1/requests/{request.request_id}", headers={"Authorization": f"Bearer {token}"})
    return str(response.json()["status"])


def _holds(timeline: dict[str, Any], expected: tuple[EventType, ...]) -> bool:
    seen = [entry["event_type"] for entry in timeline["entries"]]
    return all(seen.count(kind) >= expected.count(kind) for kind in set(expected))


def print_timeline(console: Console, request: DemoRequest, timeline: dict[str, Any]) -> None:
    record = timeline["record"] or {}
    table = Table(
        title=f"{request.title}\nrequest {request.request_id} · status {request.status}",
        title_justify="left",
        show_lines=False,
    )
    for column in ("occurred_at (UTC)", "event", "producer", "details"):
        table.add_column(column)
    for entry in timeline["entries"]:
        table.add_row(entry["occurred_at"][:23], entry["event_type"], entry["producer"], _summary(entry))
    console.print(table)
    console.print(
        f"  §7101 record: received {record.get('date_received', '')[:19]} · nature {record.get('nature')}"
        f" · manner {record.get('manner')} · due {str(record.get('due_at'))[:10]}"
        f" · response {record.get('nature_of_response') or 'pending'}"
        + (f" · basis: {record['basis_for_denial']}" if record.get("basis_for_denial") else "")
        + "\n"
    )


def _summary(entry: dict[str, Any]) -> str:
    details = entry["details"]
    keys = {
        EventType.REQUEST_SUBMITTED: ("request_type", "requested_type", "verification_outcome", "gpc"),
        EventType.REQUEST_DENIED: ("denial_code",),
        EventType.REQUEST_EXTENDED: ("respond_by",),
        EventType.CONSENT_CHANGED: ("source", "sale_opt_out", "share_opt_out"),
        EventType.OPT_OUT_STATE: ("scope", "version", "sale_opt_out", "share_opt_out", "limit_sensitive", "gpp"),
        EventType.OPT_OUT_APPLIED: ("systems_updated", "downstream_expected"),
        EventType.OPT_OUT_ACKNOWLEDGED: ("downstream", "state_version"),
        EventType.REQUEST_COMPLETED: ("outcome", "summary"),
        EventType.DISCOVERY_STARTED: ("request_type", "stores"),
        EventType.STORE_SEARCHED: ("store", "outcome", "records", "categories"),
        EventType.DISCOVERY_COMPLETED: ("records", "categories"),
        EventType.REPORT_READY: ("formats", "records", "period_start", "expires_at"),
        EventType.REPORT_DOWNLOADED: ("format", "bytes"),
        EventType.REPORT_DESTROYED: ("formats", "deletion_request_id"),
        EventType.STORE_ERASED: ("store", "outcome", "actions"),
        EventType.PROVIDER_INSTRUCTED: ("recipient", "outcome", "explanation"),
        EventType.PROVIDER_CONFIRMED: ("recipient",),
        EventType.DELETION_VERIFIED: ("verified", "remaining", "exempt_records"),
        EventType.DELETION_COMPLETED: ("verified", "providers_confirmed", "providers_pending"),
    }.get(entry["event_type"], tuple(details)[:3])
    text = "; ".join(f"{key.replace('_', ' ')} {readable(details.get(key))}" for key in keys if key in details)
    return textwrap.shorten(text, SUMMARY_WIDTH, placeholder=" …")


SUMMARY_WIDTH = 160


def readable(value: Any) -> str:
    """A detail as a person reads it: lists as comma-separated words, yes/no, a dash for nothing."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == [] or value == "":
        return "-"
    if isinstance(value, list | tuple):
        return ", ".join(readable(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key} {readable(item)}" for key, item in value.items())
    return str(value)


def print_consent(console: Console, intake: httpx.Client, token: str, identifiers: dict[str, str],
                  who: str = "the GPC consumer") -> None:  # fmt: skip
    response = intake.post("/v1/consent/lookup", json={"identifiers": identifiers},
                           headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    response.raise_for_status()
    state = response.json()
    console.print(f"[bold]Consent look-up for {who} (what a site or ad-tech caller sees)[/bold]")
    console.print(f"  {state['confirmation']} · sale opt-out {readable(state['sale_opt_out'])} · "
                  f"share opt-out {readable(state['share_opt_out'])} · source {readable(state['source'])}")  # fmt: skip
    console.print(f"  GPP {state['gpp']} · US Privacy {state['usp']} · "
                  f"may ask to opt in: {readable(state['may_ask_to_opt_in'])}\n")  # fmt: skip


@dataclass(frozen=True)
class Waiting:
    """What the demo leaves for an operator in the console."""

    deletion: str  # the verified deletion: its manual recipients await a person's confirmation
    correction: str  # the correction: its answer is held for review (the local stack reviews corrections)


def run(intake_url: str, audit_url: str, token: str, identity_db: Path, demo_env: Mapping[str, str]) -> Waiting:
    """The demo; what it leaves waiting for an operator."""
    console = Console(width=None if sys.stdout.isatty() else 150)
    people = load_customers(identity_db, 11, next_run(identity_db.parent / "demo-runs"))
    requests = demo_requests(people)
    with (
        httpx.Client(base_url=intake_url, timeout=10) as intake,
        httpx.Client(base_url=audit_url, timeout=10) as audit,
    ):
        submit_all(intake, requests)
        extend_first(intake, requests[0], token)
        started = time.monotonic()
        know = showcase.wait_for_report(intake, token, requests[0].request_id)
        answered = time.monotonic() - started
        report, paths = showcase.download_all(know, identity_db.parent / "reports")
        requests[0].expected = (*requests[0].expected, *(EventType.REPORT_DOWNLOADED,) * len(paths))
        timelines = wait_for_timelines(audit, token, requests, timeout=120.0)
        for request in requests:
            request.status = current_status(intake, token, request)
    console.print(
        f"[bold]{len(requests)} requests submitted; the know-specific request was answered with its report "
        f"{answered:.2f}s after submission; every timeline complete in audit "
        f"{time.monotonic() - started:.2f}s after the last submission.[/bold]\n"
    )
    for request in requests:
        print_timeline(console, request, timelines[request.request_id])
    showcase.print_report(console, know, report, paths)
    with httpx.Client(base_url=intake_url, timeout=10) as intake:
        showcase.print_answer(console, intake, token, requests[2].request_id, "Delete request, as the consumer sees it")
    showcase.scan_demo(console, DATAMAP_PATH, demo_env)
    with httpx.Client(base_url=intake_url, timeout=10) as intake:
        print_consent(
            console, intake, token, {"email": people[0].email, "device_id": f"browser-{people[0].account_id}"}
        )
        print_consent(console, intake, token, {"email": people[2].email}, "the consumer who opted back in")
    privacy_center.print_choice(console, intake_url)
    return Waiting(next(request.request_id for request in requests if request.expected == ERASED),
                   next(request.request_id for request in requests if request.body["type"] == "correct"))  # fmt: skip
