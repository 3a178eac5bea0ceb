"""The console's security, against the running console: a CSRF token on every POST (the sign-in form's too), no
session fixation, no password or username in any log, ten wrong passwords lock an account (on the record), and
every route's role checked on the server. The route list is the console's own OpenAPI document, so a page added
later is covered without touching this file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict
from datetime import timedelta
from typing import Any

import httpx
import pytest

from services.common.events import Event, utcnow
from services.common.serde import SingleObjectCodec
from services.common.topics import OPERATOR_ACTIONS, TopicNames
from services.console.accounts.roles import Role
from services.console.accounts.sessions import COOKIE, SessionPolicy, Sessions
from services.console.web.deps import login_url
from tests.e2e.console.conftest import ConsoleWorld
from tests.e2e.console.forms import form_token, keep_cookies, new_person, post_form, sign_in
from tests.support import read_topic, wait_for

NO_MATCH = "That username and password do not match an account."
# Not pages of a person's work: the sign-in pages themselves, the operations routes, the stylesheet.
NOT_PAGES = re.compile(r"^/(login($|/|\?)|healthz$|readyz$|metrics$|openapi\.json$|static/)")
# POSTs a viewer may make (everything else a viewer POSTs is refused with 403).
VIEWER_MAY_POST = frozenset({"/logout", "/consent"})  # a viewer may sign out and look consent up (support staff)
A_UUID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def client(console_world: ConsoleWorld) -> Iterator[httpx.Client]:
    with console_world.client(None) as client:
        yield client


def operator_actions(console_world: ConsoleWorld) -> list[Event]:
    world = console_world.world
    topic = TopicNames(world.pipeline.env["CCPA_TOPIC_NAMESPACE"])(OPERATOR_ACTIONS)
    codec = SingleObjectCodec()
    return [codec.decode(m.value() or b"") for m in read_topic(world.pipeline.config.bootstrap_servers, topic)]


# CSRF -----------------------------------------------------------------------------------------------------------


def test_the_sign_in_form_is_refused_without_its_token_and_accepted_with_it(console_world: ConsoleWorld,
                                                                            client: httpx.Client) -> None:  # fmt: skip
    person = console_world.people[Role.OPERATOR]
    form = {"username": person.username, "password": person.password, "next": "/queue"}
    bare = client.post("/login", data=form)
    assert bare.status_code == 403 and "The form had expired" in bare.text and COOKIE not in bare.cookies
    form_token(client)  # the cookie, but not the token in the form
    assert client.post("/login", data=form).status_code == 403
    assert client.post("/login", data={**form, "csrftoken": "forged"}).status_code == 403
    accepted = sign_in(client, person.username, person.password, "/queue")
    assert accepted.status_code == 303 and accepted.headers["location"] == "/queue"


def test_signing_out_needs_the_token_too(console_world: ConsoleWorld) -> None:
    with console_world.client(Role.VIEWER) as client:
        form_token(client)
        assert client.post("/logout").status_code == 403
        assert post_form(client, "/logout").headers["location"] == "/login?signed_out=1"


# Session fixation -----------------------------------------------------------------------------------------------


def test_a_session_the_browser_came_with_is_over_after_signing_in(console_world: ConsoleWorld) -> None:
    planted = console_world.session_cookie(Role.VIEWER)[COOKIE]  # e.g. one an attacker got into this browser
    person = console_world.people[Role.OPERATOR]
    with console_world.client(None) as client:
        client.cookies.set(COOKIE, planted)
        response = sign_in(client, person.username, person.password)
        assert response.status_code == 303
        fresh = response.cookies[COOKIE]
    assert fresh != planted
    sessions = Sessions(console_world.engine, SessionPolicy(timedelta(hours=8), timedelta(minutes=30)))
    assert sessions.resolve(planted, utcnow()) is None
    signed_in = sessions.resolve(fresh, utcnow())
    assert signed_in is not None and signed_in.id == person.id
    with console_world.client(None) as old:
        old.cookies.set(COOKIE, planted)
        assert post_form(old, "/logout").headers["location"] == login_url("/")  # not signed in any more


def test_the_session_cookie_is_http_only_secure_and_same_site_strict(console_world: ConsoleWorld,
                                                                   client: httpx.Client) -> None:  # fmt: skip
    person = console_world.people[Role.VIEWER]
    response = sign_in(client, person.username, person.password)
    [cookie] = [value for value in response.headers.get_list("set-cookie") if value.startswith(f"{COOKIE}=")]
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= attributes


# Logs -----------------------------------------------------------------------------------------------------------


def test_no_password_or_username_reaches_a_log(console_world: ConsoleWorld, client: httpx.Client) -> None:
    person = new_person(console_world, prefix="quiet")
    wrong = "Wrong-Horse-Battery-Stable-9731"
    assert NO_MATCH in sign_in(client, person.username, wrong).text
    assert NO_MATCH in sign_in(client, "nobody-by-this-name-4412", wrong).text
    assert sign_in(client, person.username, person.password).status_code == 303
    logs = console_world.world.pipeline.config.log_dir
    console_log = logs / "console.log"
    wait_for(lambda: person.id in console_log.read_text(errors="replace"), what="the sign-ins in the console's log")
    for path in logs.glob("*.log"):
        text = path.read_text(errors="replace")
        for secret in (person.password, wrong, person.username, "nobody-by-this-name-4412"):
            assert secret not in text, f"{secret!r} is in {path.name}"


# Lock-out -------------------------------------------------------------------------------------------------------


def test_ten_wrong_passwords_lock_the_account_and_the_lock_reaches_the_record(console_world: ConsoleWorld,
                                                                             client: httpx.Client) -> None:  # fmt: skip
    person = new_person(console_world, prefix="locked")
    answers = [sign_in(client, person.username, f"wrong password number {n}") for n in range(10)]
    assert all(answer.status_code == 401 for answer in answers)
    assert all(NO_MATCH in answer.text for answer in answers[:9]) and "locked" in answers[9].text
    right = sign_in(client, person.username, person.password)
    assert right.status_code == 401 and "locked for a while" in right.text and COOKIE not in right.cookies

    def locked() -> list[dict[str, Any]]:
        return [{"subject": e.subject_key, **asdict(e.payload)} for e in operator_actions(console_world)
                if getattr(e.payload, "actor_id", None) == person.id]  # fmt: skip

    def lock_seen() -> list[dict[str, Any]] | None:
        found = locked()
        return found if any(item["action"] == "account_locked" for item in found) else None

    record = wait_for(lock_seen, timeout=30, what="account_locked on privacy.operator.actions")
    assert [item["action"] for item in record].count("account_locked") == 1
    assert [item["action"] for item in record].count("sign_in_refused") == 11
    assert all(item["subject"] == "none" and item["actor_role"] == "operator" for item in record)
    assert person.username not in str(record)


def test_a_refused_sign_in_under_an_unknown_name_names_no_one(console_world: ConsoleWorld,
                                                            client: httpx.Client) -> None:  # fmt: skip
    typed = "someone-unknown-5521"
    assert NO_MATCH in sign_in(client, typed, "some password or other").text

    def refused() -> list[Event]:
        return [e for e in operator_actions(console_world) if getattr(e.payload, "actor_id", None) == "unknown"
                and getattr(e.payload, "action", None) == "sign_in_refused"]  # fmt: skip

    events = wait_for(refused, timeout=30, what="an unknown name's refused sign-in on the record")
    assert all(typed not in str(event) and event.subject_key == "none" for event in events)


# Roles on every route -------------------------------------------------------------------------------------------


def console_routes(console_world: ConsoleWorld) -> list[tuple[str, str]]:
    """(method, path with a value in each parameter) of every route of the console that is a person's page."""
    document = httpx.get(f"{console_world.url}/openapi.json", headers=console_world.world.pipeline.auth).json()
    routes = []
    for template, operations in document["paths"].items():
        path = re.sub(r"\{[^}]+\}", A_UUID, template)
        if NOT_PAGES.match(path):
            continue
        routes += [(method.upper(), path) for method in operations if method in {"get", "post", "put", "patch",
                                                                                "delete"}]  # fmt: skip
    assert ("POST", "/logout") in routes  # the list is real: it holds at least this console's own
    return routes


def test_every_route_sends_someone_not_signed_in_to_the_sign_in_page(console_world: ConsoleWorld) -> None:
    for method, path in console_routes(console_world):
        with console_world.client(None) as client:
            if method == "GET":
                response = client.get(path)
                assert response.status_code == 303 and response.headers["location"] == login_url(path), path
            else:
                response = client.request(method, path, data={"csrftoken": form_token(client)})
                assert response.status_code == 303, (method, path, response.status_code)
                assert response.headers["location"].startswith("/login?next="), (method, path)
                assert COOKIE not in response.cookies


def test_a_viewer_is_refused_every_post(console_world: ConsoleWorld) -> None:
    acting = [(m, p) for m, p in console_routes(console_world) if m != "GET" and p not in VIEWER_MAY_POST]
    if not acting:
        pytest.skip("the console has no route that acts yet (the queue and request pages add them)")
    for method, path in acting:
        with console_world.client(Role.VIEWER) as client:
            response = client.request(method, path, data={"csrftoken": form_token(client)})
            keep_cookies(client, response)
            assert response.status_code == 403, (method, path, response.status_code)
            assert "Your role does not allow this" in response.text
