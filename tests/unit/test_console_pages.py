"""The queue, dashboard and consent look-up pages rendered by the console's own routers against the services' API
contract (docs/console.md) played by httpx's mock transport: what a person sees, the readable outage, the look-up
on the record and the identifier never shown again. The same pages against the real stack: tests/e2e/console/."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.console.accounts.roles import Operator, Role
from services.console.actions import Acted, Action, Result
from services.console.clients.services import Services
from services.console.settings import ConsoleSettings
from services.console.web import install as pages
from services.console.web.deps import signed_in
from tests.unit.test_console_views import CONSOLE_TOKEN, contract_audit

SETTINGS = {"CCPA_SERVICE_TOKEN": CONSOLE_TOKEN, "CCPA_SUBJECT_KEY_SECRET": base64.b64encode(b"k" * 32).decode(),
            "CCPA_MASTER_KEYS": json.dumps({"m-1": base64.b64encode(b"m" * 32).decode()}),
            "CCPA_ACTIVE_MASTER_KEY": "m-1", "CCPA_API_TOKEN": "o" * 40,
            "CCPA_CONSOLE_SECURE_COOKIES": "false"}  # fmt: skip
VIEWER = Operator("6f7e0d1c-0000-4000-8000-000000000001", "Vera Viewer", Role.VIEWER)
EMAIL = "Someone.Private@Example.com"
Route = Callable[[httpx.Request], httpx.Response]


def optout_state(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"subject_key": request.url.path.rsplit("/", 1)[-1], "known": True,
                                     "sale_opt_out": True, "share_opt_out": True, "limit_sensitive": [],
                                     "source": "gpc", "effective_at": "2026-01-02T00:00:00+00:00",
                                     "may_ask_after": None, "under_16": False, "scope": "consumer"})  # fmt: skip


def metrics(_request: httpx.Request) -> httpx.Response:
    line = {
        "received": 3,
        "complied_in_whole_or_in_part": 2,
        "denied": 1,
        "denial_reasons": {"unverified": 1},
        "pending": 0,
        "median_days_to_respond": 4.0,
        "mean_days_to_respond": 4.5,
    }
    lines = [{"request_type": "know", **line}, {"request_type": "delete", **line}]
    return httpx.Response(200, json={"year": 2026, "signal_opt_outs": {"said": "signals are on their own line"},
                                     "days_to_respond": "calendar days", "lines": lines})  # fmt: skip


def the_services(request: httpx.Request) -> httpx.Response:
    if request.url.host == "optout":
        return optout_state(request)
    if request.url.path == "/v1/metrics/7102":
        return metrics(request)
    return contract_audit(request)


class Recorded(list[tuple[Operator | None, Acted]]):
    def record(self, who: Operator | None, acted: Acted) -> None:
        self.append((who, acted))


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> ConsoleSettings:
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CCPA_AUDIT_URL", "http://audit")
    monkeypatch.setenv("CCPA_OPTOUT_URL", "http://optout")
    return ConsoleSettings()


def console_app(settings: ConsoleSettings, route: Route, records: Recorded) -> TestClient:
    app = FastAPI(middleware=pages.middleware(settings))
    services = Services.of(settings, transport=httpx.MockTransport(route))
    app.state.console = SimpleNamespace(settings=settings, record=records, services=services,
                                        dead_letters=SimpleNamespace(size=lambda: 2))  # fmt: skip
    pages.install(app)

    def signed_in_as_viewer() -> Operator:
        return VIEWER

    app.dependency_overrides[signed_in] = signed_in_as_viewer
    return TestClient(app, follow_redirects=False)


@pytest.fixture
def records() -> Recorded:
    return Recorded()


@pytest.fixture
def client(settings: ConsoleSettings, records: Recorded) -> Iterator[TestClient]:
    with console_app(settings, the_services, records) as client:
        yield client


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrftoken" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_home_is_the_queue(client: TestClient) -> None:
    assert client.get("/").headers["location"] == "/queue"


def test_the_queue_shows_an_overdue_request_in_words_and_links_it(client: TestClient) -> None:
    page = client.get("/queue", params={"status": "open"})
    assert page.status_code == 200
    assert '<a class="mono" href="/requests/r-1">r-1</a>' in page.text
    assert 'class="row-overdue"' in page.text and "4 days overdue" in page.text and ">Overdue</span>" in page.text
    assert "Delete" in page.text and "Web form" in page.text and "February 16, 2026" in page.text  # Pacific dates
    assert "cursor=abc" in page.text and "Next page" in page.text and "Previous page" not in page.text
    assert 'href="/queue?status=overdue"' in page.text  # the overdue count applies its filter


def test_a_queue_filter_out_of_its_rule_is_named_not_a_traceback(client: TestClient) -> None:
    page = client.get("/queue", params={"type": "<script>", "due_within_days": "abc"})
    assert page.status_code == 200 and "Some filters were not understood" in page.text
    assert "<script>" not in page.text.split("<main", 1)[1].split("</main>", 1)[0]


def test_an_outage_of_audit_is_a_readable_page(settings: ConsoleSettings, records: Recorded) -> None:
    def down(_request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with console_app(settings, down, records) as client:
        queue, board = client.get("/queue"), client.get("/dashboard")
    assert queue.status_code == 503 and "The Audit service cannot be reached just now" in queue.text
    assert "Traceback" not in queue.text
    assert board.status_code == 200 and "The workload figures cannot be shown just now" in board.text


def test_the_dashboard_has_its_charts_data_and_the_same_figures_in_tables(client: TestClient) -> None:
    page = client.get("/dashboard", params={"year": "2026"})
    assert page.status_code == 200
    figures = re.search(r'<script type="application/json" id="chart-throughput">(.*?)</script>', page.text, re.S)
    assert figures and json.loads(figures.group(1))["series"][0]["values"] == [2]
    assert json.loads(re.findall(r'id="chart-metrics">(.*?)</script>', page.text, re.S)[0])["labels"] == [
        "Know", "Delete"]  # fmt: skip
    assert 'data-chart="chart-throughput"' in page.text and 'data-chart="chart-metrics"' in page.text
    assert "§7102 metrics for 2026" in page.text and "mailer" in page.text and "on the dead-letter queue" in page.text
    assert "/static/vendor/chart-4.6.1.umd.min.js" in page.text
    assert client.get("/dashboard", params={"year": "1999"}).text.count("The year must be from 2020") == 1


def test_a_consent_look_up_shows_state_and_history_and_is_on_the_record(client: TestClient, records: Recorded) -> None:
    form = client.get("/consent")
    assert 'name="identifier"' in form.text and "value=" not in form.text.split('name="identifier"', 1)[1][:80]
    page = client.post("/consent", data={"kind": "email", "identifier": EMAIL, "csrftoken": csrf_of(form.text)})
    assert page.status_code == 200, page.text
    assert "Opted out" in page.text and "Global Privacy Control signal" in page.text
    assert '<a class="mono" href="/requests/r-9">' in page.text and "s…@e…" in page.text
    assert EMAIL.lower() not in page.text.lower() and "someone" not in page.text.lower()
    ((who, acted),) = records
    assert who == VIEWER and (acted.action, acted.result) == (Action.CONSENT_LOOKED_UP, Result.DONE)
    assert acted.subject_key and re.fullmatch(r"[0-9a-f]{64}", acted.subject_key) and acted.subject_key in page.text


def test_an_invalid_identifier_is_the_form_again_with_the_problem_and_no_echo(client: TestClient,
                                                                              records: Recorded) -> None:  # fmt: skip
    token = csrf_of(client.get("/consent").text)
    page = client.post("/consent", data={"kind": "email", "identifier": "private-at-nowhere", "csrftoken": token})
    assert page.status_code == 422 and "The e-mail address is not a valid e-mail address." in page.text
    assert "private-at-nowhere" not in page.text and not records


def test_a_look_up_with_a_service_down_says_so_and_is_on_the_record_as_failed(settings: ConsoleSettings,
                                                                              records: Recorded) -> None:  # fmt: skip
    def optout_down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503) if request.url.host == "optout" else contract_audit(request)

    with console_app(settings, optout_down, records) as client:
        token = csrf_of(client.get("/consent").text)
        page = client.post("/consent", data={"kind": "phone", "identifier": "(415) 555-0134", "csrftoken": token})
    assert page.status_code == 200 and "The Opt-out service cannot be reached just now" in page.text
    assert "555-0134" not in page.text and "4155550134" not in page.text
    assert records[0][1].result is Result.FAILED


def test_a_look_up_without_the_form_token_is_refused(client: TestClient, records: Recorded) -> None:
    page = client.post("/consent", data={"kind": "email", "identifier": EMAIL})
    assert page.status_code == 403 and not records
