"""The console's queue, dashboard and consent look-up over HTTP against the console's own stack (console_world):
what a viewer gets, the DLQ's size from the real topic, and a consent look-up that finds a customer's opt-out by
their e-mail address without the address going anywhere (page, record, log)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from confluent_kafka import Producer

from services.common.serde import SingleObjectCodec
from services.common.topics import DLQ, OPERATOR_ACTIONS, TopicNames
from services.console.accounts.roles import Role
from services.console.web.security import CSRF_COOKIE
from tests.e2e.console.conftest import ConsoleWorld
from tests.e2e.console.opting_out import opt_out_with_gpc
from tests.e2e.demo_world import submit
from tests.support import read_topic, wait_for

# Customers of the demo company these tests act for (others' tests take other ones).
QUEUED, OPTED_OUT, NEVER_CHANGED = 21, 22, 23


def page_of(client: httpx.Client, path: str, **params: Any) -> str:
    response = client.get(path, params=params or None)  # params={} would drop the query string of `path` (httpx)
    assert response.status_code == 200, response.text[:500]
    return response.text


def request_ids(page: str) -> list[str]:
    return re.findall(r'href="/requests/([0-9a-f-]{36})"', page)


def paging_link(page: str, rel: str) -> str | None:
    found = re.search(rf'href="(/queue\?[^"]+)" rel="{rel}"', page)
    return found.group(1).replace("&amp;", "&") if found else None


def topic(world: ConsoleWorld, spec: Any) -> str:
    return TopicNames(world.world.pipeline.env["CCPA_TOPIC_NAMESPACE"])(spec)


def look_up(client: httpx.Client, kind: str, identifier: str) -> httpx.Response:
    """The look-up as a browser sends it: the form's token, and its cookie (sent by a browser to 127.0.0.1 though
    marked Secure; httpx needs it set by hand)."""
    form = client.get("/consent")
    token = re.search(r'name="csrftoken" value="([^"]+)"', form.text)
    assert form.status_code == 200 and token
    if CSRF_COOKIE in form.cookies:  # set once per browser
        client.cookies.set(CSRF_COOKIE, form.cookies[CSRF_COOKIE])
    return client.post("/consent", data={"kind": kind, "identifier": identifier, "csrftoken": token.group(1)})


def test_a_person_not_signed_in_is_sent_to_sign_in_and_home_is_the_queue(console_world: ConsoleWorld) -> None:
    with console_world.client(None) as anonymous, console_world.client(Role.VIEWER) as viewer:
        assert anonymous.get("/queue").headers["location"].startswith("/login?next=/queue")
        assert viewer.get("/").headers["location"] == "/queue"


def test_the_queue_shows_an_open_request_as_overdue_under_the_test_clock(console_world: ConsoleWorld) -> None:
    world = console_world.world
    request_id = submit(world, world.customers[QUEUED], "delete")
    with console_world.client(Role.VIEWER) as viewer:

        def listed() -> str | None:
            text = page_of(viewer, "/queue", status="overdue", per_page=200)
            return text if request_id in request_ids(text) else None

        page = wait_for(listed, timeout=60, what="the request in the queue")
    row = page.split(f'href="/requests/{request_id}"', 1)[0].rsplit("<tr", 1)[1]
    assert 'class="row-overdue"' in row
    assert re.search(r"\d+ days? overdue", page.split(f"/requests/{request_id}", 1)[1].split("</tr>", 1)[0])


def test_the_queue_pages_by_the_cursor_there_and_back(console_world: ConsoleWorld) -> None:
    world = console_world.world
    for _ in range(3):
        submit(world, world.customers[QUEUED], "know_categories")
    with console_world.client(Role.VIEWER) as viewer:
        first = wait_for(lambda: (text := page_of(viewer, "/queue", status="all", per_page=1)) and "Next page" in text
                         and text, timeout=60, what="a second page")  # fmt: skip
        ids, following = request_ids(first), paging_link(first, "next")
        assert len(ids) == 1 and following and paging_link(first, "prev") is None
        second = page_of(viewer, following)
        back = paging_link(second, "prev")
        assert back and len(request_ids(second)) == 1 and request_ids(second) != ids and "Page 2" in second
        assert request_ids(page_of(viewer, back)) == ids


def test_the_dashboard_counts_the_messages_on_the_dead_letter_topic(console_world: ConsoleWorld) -> None:
    def dlq_size(viewer: httpx.Client) -> int:
        found = re.search(r'id="dlq"><span class="card-n">(\d+)</span>', page_of(viewer, "/dashboard"))
        assert found, "the DLQ card"
        return int(found.group(1))

    with console_world.client(Role.VIEWER) as viewer:
        before = dlq_size(viewer)
        producer = Producer({"bootstrap.servers": console_world.world.pipeline.config.bootstrap_servers})
        producer.produce(topic(console_world, DLQ), b"not an event", key=b"console-test")
        assert producer.flush(10) == 0
        wait_for(lambda: dlq_size(viewer) == before + 1, timeout=30, interval=1, what="the DLQ's new size")


def test_a_consent_look_up_finds_the_opt_out_by_email_and_the_address_goes_nowhere(console_world: ConsoleWorld) -> None:
    world = console_world.world
    customer = world.customers[OPTED_OUT]
    opted = opt_out_with_gpc(world, customer)
    request_id, subject_key = opted.request_id, opted.subject_key
    with console_world.client(Role.VIEWER) as viewer:
        page = look_up(viewer, "email", customer.email.upper())  # as typed: normalised like intake does
    assert page.status_code == 200, page.text[:500]
    assert page.text.count("Opted out") >= 2 and subject_key in page.text and f"/requests/{request_id}" in page.text
    assert "Global Privacy Control signal" in page.text
    assert customer.email.lower() not in page.text.lower()

    def looked_up() -> dict[str, Any] | None:
        codec = SingleObjectCodec()
        events = [codec.decode(m.value()) for m in read_topic(world.pipeline.config.bootstrap_servers,
                                                              topic(console_world, OPERATOR_ACTIONS))]  # fmt: skip
        return next(({"event": e} for e in events if e.subject_key == subject_key
                     and e.payload.action == "consent_looked_up"), None)  # fmt: skip

    event = wait_for(looked_up, timeout=30, interval=0.5, what="the look-up on the record")["event"]
    assert event.payload.actor_id == console_world.people[Role.VIEWER].id and event.payload.result == "done"
    assert customer.email.lower() not in str(event).lower()
    log = (world.pipeline.config.log_dir / "console.log").read_text(errors="replace").lower()
    assert customer.email.lower() not in log


def test_a_person_with_no_consent_change_is_said_so_and_a_bad_identifier_is_not_echoed(
    console_world: ConsoleWorld,
) -> None:
    customer = console_world.world.customers[NEVER_CHANGED]
    with console_world.client(Role.VIEWER) as viewer:
        nothing = look_up(viewer, "email", customer.email)
        bad = look_up(viewer, "phone", "call-me-at-home")
    assert nothing.status_code == 200 and "No consent change recorded for this person." in nothing.text
    assert "No consent state is recorded" in nothing.text
    assert bad.status_code == 422 and "The phone number is not a parseable phone number." in bad.text
    assert "call-me-at-home" not in bad.text
