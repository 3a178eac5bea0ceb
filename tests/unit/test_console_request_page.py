"""The request page and its actions against fake services (httpx MockTransport): what each role sees, that every
POST needs the operator role on the server, and that every outcome (done, refused, failed) is on the record."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.common.events import utcnow
from services.console import orm
from services.console.accounts.roles import Operator, Role
from services.console.accounts.sessions import COOKIE, SessionPolicy, Sessions
from services.console.accounts.store import Accounts
from services.console.actions import Acted, Action, Result
from services.console.clients.base import ServiceClient
from services.console.clients.services import Services
from services.console.web.install import install, middleware

REQUEST_ID = str(uuid.uuid4())
SUBJECT_KEY = "ab" * 32
NOW = utcnow()


@dataclass
class FakeSettings:
    secure_cookies: bool = False

    def subject_key_bytes(self) -> bytes:
        return b"k" * 32


@dataclass
class Recorder:
    acted: list[tuple[Operator | None, Acted]] = field(default_factory=list)

    def record(self, who: Operator | None, acted: Acted, conn: sa.Connection | None = None) -> None:
        self.acted.append((who, acted))


@dataclass
class FakeConsole:
    settings: FakeSettings
    accounts: Accounts
    sessions: Sessions
    record: Recorder
    services: Services


Answer = Callable[[httpx.Request], httpx.Response]


@dataclass
class World:
    client: TestClient
    console: FakeConsole
    routes: dict[tuple[str, str], Answer]
    calls: list[tuple[str, str, Any]]
    people: dict[Role, str]

    def sign_in(self, role: Role) -> None:
        self.client.cookies.set(COOKIE, self.console.sessions.start(self.people[role], utcnow()))

    def csrf(self) -> str:
        page = self.client.get(f"/requests/{REQUEST_ID}")
        found = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
        assert found, page.text
        return found.group(1)

    def post(self, path: str, **form: str) -> httpx.Response:
        return self.client.post(path, data={"csrftoken": self.csrf(), **form}, follow_redirects=False)


def status_body(**extra: Any) -> dict[str, Any]:
    return {"request_id": REQUEST_ID, "type": "delete", "requested_type": "delete", "channel": "web_form",
            "status": "acknowledged", "received_at": (NOW - timedelta(days=3)).isoformat(),
            "acknowledged_at": (NOW - timedelta(days=3)).isoformat(), "due_at": (NOW + timedelta(days=42)).isoformat(),
            "extension": {"extended": False, "extended_at": None, "reason": None,
                          "max_respond_by": (NOW + timedelta(days=87)).isoformat()},
            "verification": {}, "denial": None, "response": None, "report": None, "review": None, **extra}  # fmt: skip


def json_answer(body: Any, status_code: int = 200) -> Answer:
    return lambda _request: httpx.Response(status_code, json=body)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'console.db'}")
    orm.metadata.create_all(engine)
    accounts = Accounts(engine)
    people = {role: accounts.add(f"{role.value}@test", f"Test {role.value.title()}", role, None, NOW).id
              for role in Role}  # fmt: skip
    routes: dict[tuple[str, str], Answer] = {
        ("GET", f"/v1/requests/{REQUEST_ID}"): json_answer(status_body()),
        ("GET", f"/v1/requests/{REQUEST_ID}/notices"): json_answer({"notices": [
            {"notice_id": "n-1", "kind": "acknowledgement", "state": "sent", "resendable": True, "attempts": 1,
             "sent_at": NOW.isoformat()}]}),
        ("GET", f"/v1/requests/{REQUEST_ID}/timeline"): json_answer({"request_id": REQUEST_ID,
                                                                    "subject_key": SUBJECT_KEY, "record": None,
                                                                    "entries": []}),
        ("GET", f"/v1/requests/{REQUEST_ID}/recipients"): json_answer({"request_id": REQUEST_ID, "recipients": [
            {"instruction_id": "i-1", "recipient": "brightlist", "kind": "delete", "state": "manual",
             "deadline": NOW.isoformat(), "may_confirm": True, "may_resend": False}]}),
        ("GET", "/v1/legal-holds"): json_answer({"holds": [{"hold_id": "h-1", "reason": "litigation"}]}),
    }  # fmt: skip
    calls: list[tuple[str, str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        calls.append((request.method, request.url.path, body))
        found = routes.get((request.method, request.url.path))
        return found(request) if found else httpx.Response(404, json={"detail": "no such thing"})

    transport = httpx.MockTransport(answer)
    clients = {name: ServiceClient(name, f"http://{name}", "t" * 32, 5, transport=transport)
               for name in ("intake", "audit", "deletion", "optout")}  # fmt: skip
    console = FakeConsole(FakeSettings(), accounts, Sessions(engine, SessionPolicy(timedelta(hours=1),
                          timedelta(minutes=30))), Recorder(), Services(**clients))  # fmt: skip
    app = FastAPI(middleware=middleware(console.settings))  # type: ignore[arg-type]
    app.state.console = console
    install(app)
    with TestClient(app) as client:
        yield World(client, console, routes, calls, people)
    engine.dispose()


def test_a_request_id_that_is_not_a_uuid_is_a_404_page(world: World) -> None:
    world.sign_in(Role.VIEWER)
    page = world.client.get("/requests/not-a-request")
    assert page.status_code == 404 and "There is no such page" in page.text
    assert not world.calls  # nothing was asked of the services


def test_a_request_intake_does_not_know_is_a_404_page(world: World) -> None:
    world.sign_in(Role.VIEWER)
    assert world.client.get(f"/requests/{uuid.uuid4()}").status_code == 404


def test_signed_out_the_page_sends_to_sign_in(world: World) -> None:
    response = world.client.get(f"/requests/{REQUEST_ID}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=/requests/")


def test_an_operator_sees_the_actions_and_a_viewer_none(world: World) -> None:
    world.sign_in(Role.OPERATOR)
    page = world.client.get(f"/requests/{REQUEST_ID}").text
    for button in ("Extend to 90 days", "Confirm brightlist's deletion", "Place a legal hold", "Release this hold",
                   "Send the acknowledgement again"):  # fmt: skip
        assert button in page
    world.sign_in(Role.VIEWER)
    page = world.client.get(f"/requests/{REQUEST_ID}").text
    assert "<button" in page  # sign out, only
    assert page.count("<button") == 1 and "Sign out" in page
    assert "litigation" in page and "brightlist" in page  # a viewer reads everything


@pytest.mark.parametrize("path", [f"/requests/{REQUEST_ID}/extend", f"/requests/{REQUEST_ID}/review",
                                  f"/requests/{REQUEST_ID}/holds", f"/requests/{REQUEST_ID}/holds/h-1/release",
                                  f"/requests/{REQUEST_ID}/recipients/i-1/confirm",
                                  f"/requests/{REQUEST_ID}/recipients/i-1/resend",
                                  f"/requests/{REQUEST_ID}/notices/n-1/resend"])  # fmt: skip
def test_every_action_refuses_a_viewer_on_the_server(world: World, path: str) -> None:
    world.sign_in(Role.VIEWER)
    response = world.post(path, reason="a good long reason", note="a good long note", verdict="approved")
    assert response.status_code == 403 and "operator role" in response.text
    assert not [call for call in world.calls if call[0] != "GET"]


def test_a_viewer_cannot_download_the_report(world: World) -> None:
    world.sign_in(Role.VIEWER)
    assert world.client.get(f"/requests/{REQUEST_ID}/report/json").status_code == 403


def test_an_extension_is_done_recorded_and_shown(world: World) -> None:
    world.routes[("POST", f"/v1/requests/{REQUEST_ID}/extend")] = json_answer(status_body())
    world.sign_in(Role.OPERATOR)
    response = world.post(f"/requests/{REQUEST_ID}/extend", reason="the archive must be searched")
    assert response.status_code == 303 and response.headers["location"] == f"/requests/{REQUEST_ID}"
    assert ("POST", f"/v1/requests/{REQUEST_ID}/extend", {"reason": "the archive must be searched"}) in world.calls
    who, acted = world.console.record.acted[-1]
    assert who is not None and who.id == world.people[Role.OPERATOR]
    assert acted == Acted(Action.EXTENDED, Result.DONE, REQUEST_ID, SUBJECT_KEY, "the archive must be searched")
    page = world.client.get(f"/requests/{REQUEST_ID}")
    assert re.search(r'role="status" class="notice ok"><p>Extended to 90 days', page.text)
    assert 'role="status"' not in world.client.get(f"/requests/{REQUEST_ID}").text  # said once


def test_a_refusal_shows_the_services_detail_and_is_recorded_refused(world: World) -> None:
    detail = "the deadline was already extended once; the statute allows one extension"
    world.routes[("POST", f"/v1/requests/{REQUEST_ID}/extend")] = json_answer({"detail": detail}, 409)
    world.sign_in(Role.OPERATOR)
    world.post(f"/requests/{REQUEST_ID}/extend", reason="the archive must be searched")
    acted = world.console.record.acted[-1][1]
    assert acted.result is Result.REFUSED and acted.detail == detail
    assert f"Not done: {detail}" in world.client.get(f"/requests/{REQUEST_ID}").text


def test_an_outage_is_recorded_failed_and_says_nothing_changed(world: World) -> None:
    world.routes[("POST", f"/v1/requests/{REQUEST_ID}/extend")] = json_answer({"detail": "boom"}, 503)
    world.sign_in(Role.OPERATOR)
    world.post(f"/requests/{REQUEST_ID}/extend", reason="the archive must be searched")
    assert world.console.record.acted[-1][1].result is Result.FAILED
    assert "nothing was changed, try again" in world.client.get(f"/requests/{REQUEST_ID}").text


def test_a_reason_too_short_calls_nothing_and_is_recorded_refused(world: World) -> None:
    world.sign_in(Role.OPERATOR)
    world.post(f"/requests/{REQUEST_ID}/extend", reason="short")
    assert not [call for call in world.calls if call[0] == "POST"]
    acted = world.console.record.acted[-1][1]
    assert acted.result is Result.REFUSED and "10 to 1000 characters" in (acted.detail or "")


def test_a_deny_needs_a_reason_and_an_approval_names_the_reviewer(world: World) -> None:
    world.routes[("POST", f"/v1/requests/{REQUEST_ID}/review")] = json_answer({})
    world.sign_in(Role.OPERATOR)
    world.post(f"/requests/{REQUEST_ID}/review", verdict="denied", reason="")
    assert world.console.record.acted[-1][1].action is Action.ANSWER_DENIED
    assert world.console.record.acted[-1][1].result is Result.REFUSED
    world.post(f"/requests/{REQUEST_ID}/review", verdict="approved")
    assert world.calls[-1][1:] == (f"/v1/requests/{REQUEST_ID}/review",
                                   {"verdict": "approved", "reviewer": world.people[Role.OPERATOR]})  # fmt: skip
    assert world.console.record.acted[-1][1].result is Result.DONE


def test_a_manual_confirmation_goes_to_deletion_with_the_note(world: World) -> None:
    path = f"/v1/requests/{REQUEST_ID}/recipients/i-1/confirm"
    world.routes[("POST", path)] = json_answer({})
    world.sign_in(Role.OPERATOR)
    world.post(f"/requests/{REQUEST_ID}/recipients/i-1/confirm", note="phoned their DPO", confirmation_id="BL-7")
    assert (
        "POST",
        path,
        {"note": "phoned their DPO", "confirmed_by": world.people[Role.OPERATOR], "confirmation_id": "BL-7"},
    ) in world.calls
    acted = world.console.record.acted[-1][1]
    assert (acted.action, acted.result, acted.target) == (Action.RECIPIENT_CONFIRMED, Result.DONE, "brightlist")


def test_a_hold_is_placed_on_the_requests_subject_and_released(world: World) -> None:
    world.routes[("POST", "/v1/legal-holds")] = json_answer({"hold_id": "h-2", "reason": "litigation"}, 201)
    world.routes[("DELETE", "/v1/legal-holds/h-1")] = json_answer({"hold_id": "h-1", "released": True})
    world.sign_in(Role.OPERATOR)
    world.post(f"/requests/{REQUEST_ID}/holds", reason="litigation pending")
    placed = {"subject_key": SUBJECT_KEY, "reason": "litigation pending", "placed_by": world.people[Role.OPERATOR]}
    assert ("POST", "/v1/legal-holds", placed) in world.calls
    world.post(f"/requests/{REQUEST_ID}/holds/h-1/release")
    assert ("DELETE", "/v1/legal-holds/h-1", None) in world.calls
    assert [acted.action for _who, acted in world.console.record.acted] == [Action.HOLD_PLACED, Action.HOLD_RELEASED]


def test_a_report_download_streams_intakes_bytes_and_is_recorded(world: World) -> None:
    world.routes[("GET", f"/v1/requests/{REQUEST_ID}/report/csv")] = lambda _r: httpx.Response(
        200, content=b"PK zip", headers={"content-type": "application/zip"}
    )
    world.sign_in(Role.OPERATOR)
    response = world.client.get(f"/requests/{REQUEST_ID}/report/csv")
    assert response.status_code == 200 and response.content == b"PK zip"
    assert response.headers["content-disposition"].startswith("attachment")
    acted = world.console.record.acted[-1][1]
    assert (acted.action, acted.result, acted.target) == (Action.REPORT_DOWNLOADED, Result.DONE, "csv")
    assert world.client.get(f"/requests/{REQUEST_ID}/report/pdf").status_code == 404


def test_a_forged_flash_cookie_is_ignored(world: World) -> None:
    world.sign_in(Role.OPERATOR)
    world.client.cookies.set("ccpa_console_flash", "eyJvayI6dHJ1ZSwidGV4dCI6Imhp.forged", path="/requests")
    assert 'role="status"' not in world.client.get(f"/requests/{REQUEST_ID}").text


def test_an_instruction_and_a_notice_are_sent_again_with_the_reason(world: World) -> None:
    instruction, notice = (
        f"/v1/requests/{REQUEST_ID}/recipients/i-1/resend",
        f"/v1/requests/{REQUEST_ID}/notices/n-1/resend",
    )
    world.routes[("POST", instruction)] = json_answer({})
    world.routes[("POST", notice)] = json_answer({})
    world.sign_in(Role.OPERATOR)
    world.post(f"/requests/{REQUEST_ID}/recipients/i-1/resend", reason="their endpoint is back")
    world.post(f"/requests/{REQUEST_ID}/notices/n-1/resend", reason="the consumer asked for it")
    assert ("POST", instruction, {"reason": "their endpoint is back"}) in world.calls
    assert ("POST", notice, {"reason": "the consumer asked for it"}) in world.calls
    assert [(acted.action, acted.target) for _who, acted in world.console.record.acted] == [
        (Action.INSTRUCTION_RESENT, "brightlist"),
        (Action.NOTICE_RESENT, "n-1"),
    ]


def test_an_id_with_a_path_in_it_reaches_no_service(world: World) -> None:
    world.sign_in(Role.OPERATOR)
    response = world.post(f"/requests/{REQUEST_ID}/notices/..%2F..%2Fextend/resend", reason="the consumer asked")
    assert response.status_code == 404
    assert not [call for call in world.calls if call[0] == "POST"]


def test_approve_and_deny_are_offered_only_for_an_answer_held_and_ready(world: World) -> None:
    world.sign_in(Role.OPERATOR)
    not_ready = {"state": "pending", "decided_at": None, "reason": None, "answer_ready": False}
    world.routes[("GET", f"/v1/requests/{REQUEST_ID}")] = json_answer(status_body(review=not_ready))
    page = world.client.get(f"/requests/{REQUEST_ID}").text
    assert "the answer is not ready yet" in page and "Approve and send the answer" not in page
    world.routes[("GET", f"/v1/requests/{REQUEST_ID}")] = json_answer(
        status_body(
            review={**not_ready, "answer_ready": True},
            report={"ready_at": NOW.isoformat(), "expires_at": NOW.isoformat(), "records": 3, "links": {}},
        )
    )
    page = world.client.get(f"/requests/{REQUEST_ID}").text
    assert "Awaiting review" in page and "Approve and send the answer" in page and "Deny the answer" in page
    assert "Download the report as CSV" in page  # the team reads a held report to review it
    assert "Held for review" in page
