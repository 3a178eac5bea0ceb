"""The console's pure bits: the queue's query string and its paging trail, the words for states and days, the
dashboard's chart data, the identifier → subject key (as intake derives it), the clients' reading of the API
contract (docs/console.md) and the vendored Chart.js."""

from __future__ import annotations

import hashlib
import json
import re
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.common.identity import InvalidIdentifier
from services.console.clients.audit import AuditClient, Backlog, Dashboard, Metrics7102, QueueCounts, Week, cursor_of
from services.console.clients.optout import OptoutClient
from services.console.dlq import waiting
from services.console.subjects import hint_of, problem_of, subject_of
from services.console.web import charts, queue_view, words
from services.console.web.templating import STATIC, TEMPLATES
from services.intake.handlers import IntakeService

CHART_JS_SHA256 = "87364cc2b2a76a6684929e7d6b80b18a897794db38400caff1fcf1791c6925d2"  # static/vendor/README.md
SECRET = b"k" * 32
CONSOLE_TOKEN = "token-of-the-console-0123456789"


def query(link: str | None) -> dict[str, list[str]]:
    assert link is not None
    return parse_qs(urlsplit(link).query)


def test_the_vendored_chart_js_is_the_published_file_and_the_dashboard_loads_it_locally() -> None:
    vendored = STATIC / "vendor" / "chart-4.6.1.umd.min.js"
    assert hashlib.sha256(vendored.read_bytes()).hexdigest() == CHART_JS_SHA256
    assert '<script src="/static/vendor/chart-4.6.1.umd.min.js">' in (TEMPLATES / "dashboard.html.j2").read_text()


def test_no_template_or_stylesheet_loads_anything_from_another_host_or_inline() -> None:
    remote = re.compile(r"""(?:src|href|action)\s*=\s*["'](?:https?:)?//|url\(\s*["']?(?:https?:)?//""", re.I)
    inline_script = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))", re.I)
    for path in [*TEMPLATES.glob("*.j2"), *STATIC.glob("*.css")]:
        text = path.read_text()
        assert not remote.search(text), path.name
        assert not inline_script.search(text) and " style=" not in text and "<style" not in text, path.name


def test_the_queue_filters_are_read_and_a_bad_one_is_named_and_dropped() -> None:
    view = queue_view.parse({"type": "delete", "status": "overdue", "channel": "email", "due_within_days": "7"}, [])
    assert view.filters == queue_view.Filters("delete", "overdue", "email", 7) and not view.problems
    assert view.filters.query(None).params()["due_within_days"] == 7
    bad = queue_view.parse({"type": "erase", "status": "late", "channel": "fax", "due_within_days": "-3"}, [])
    assert bad.filters == queue_view.Filters() and len(bad.problems) == 4
    assert not any(value in " ".join(bad.problems) for value in ("erase", "late", "fax", "-3"))
    assert queue_view.parse({"due_within_days": "401"}, []).problems


def test_paging_keeps_a_trail_of_cursors_so_previous_goes_back_one_page() -> None:
    first = queue_view.parse({"status": "open"}, [])
    assert queue_view.previous_link(first) is None and queue_view.first_link(first) is None
    to_second = query(queue_view.next_link(first, "c2"))
    assert to_second == {"status": ["open"], "cursor": ["c2"], "trail": [queue_view.FIRST_PAGE]}
    second = queue_view.parse({"status": "open", "cursor": "c2"}, to_second["trail"])
    third = queue_view.parse({"status": "open", "cursor": "c3"}, query(queue_view.next_link(second, "c3"))["trail"])
    assert third.paging.number == 3
    assert query(queue_view.previous_link(third)) == {"status": ["open"], "cursor": ["c2"],
                                                      "trail": [queue_view.FIRST_PAGE]}  # fmt: skip
    assert query(queue_view.previous_link(second)) == {"status": ["open"]}
    assert query(queue_view.first_link(third)) == {"status": ["open"]}
    assert queue_view.next_link(third, None) is None


def test_the_trail_is_capped_and_a_cursor_that_is_not_printable_is_ignored() -> None:
    long = queue_view.parse({"cursor": "cN"}, [f"c{i}" for i in range(50)])
    assert len(long.paging.trail) == queue_view.MAX_TRAIL and long.paging.trail[-1] == "c49"
    assert queue_view.parse({"cursor": "bad\x00cursor"}, []).paging.cursor is None
    assert queue_view.parse({}, ["c1"]).paging.trail == ()  # the first page has nothing before it


def test_the_counts_link_to_their_filter_keeping_type_and_channel() -> None:
    filters = queue_view.Filters("delete", "overdue", "email", None)
    links = queue_view.count_links(filters, QueueCounts(10, 8, 3, 2, 1, 5))
    by_label = {link.label: link for link in links}
    assert [link.count for link in links] == [8, 3, 2, 1, 5]
    assert query(by_label["Due within 7 days"].href) == {"type": ["delete"], "status": ["open"], "channel": ["email"],
                                                         "due_within_days": ["7"]}  # fmt: skip
    assert by_label["Overdue"].current and not by_label["Open"].current
    assert queue_view.count_links(queue_view.Filters(), QueueCounts())[0].current  # no status is "open"
    assert queue_view.described(filters) == "Overdue · Delete · E-mail"


def test_states_and_days_left_are_words() -> None:
    assert words.days_left(-3, "overdue") == "3 days overdue" and words.days_left(-1, "overdue") == "1 day overdue"
    assert words.days_left(0, "due_soon") == "Due today" and words.days_left(12, "on_time") == "12 days left"
    assert words.days_left(5, "answered") == "—"
    assert words.state("answered_late") == "Answered late" and words.request_type("know_specific").startswith("Know")
    assert words.consent_change({"sale_opt_out": True, "share_opt_out": True}) == (
        "Opted out of sale; opted out of sharing"
    )
    assert words.consent_change({"limit_sensitive": ["precise_geolocation"]}) == (
        "Limited the use of precise geolocation"
    )


def test_the_charts_carry_the_same_figures_as_the_tables() -> None:
    weeks = [Week("2026-03-02", 4, 1), Week("2026-03-09", 0, 5)]
    chart = charts.throughput(weeks).data()
    assert chart["labels"] == ["Mar 2", "Mar 9"]
    assert [(s["label"], s["values"]) for s in chart["series"]] == [("Received", [4, 0]), ("Answered", [1, 5])]
    json.dumps(chart)  # what the page embeds
    table = Metrics7102.of({"year": 2026, "signal_opt_outs": {"said": "s"}, "lines": [
        {"request_type": "know", "received": 3, "complied_in_whole_or_in_part": 2, "denied": 1,
         "denial_reasons": {"unverified": 1}, "pending": 0, "median_days_to_respond": 4.0,
         "mean_days_to_respond": 4.5}]})  # fmt: skip
    metrics = charts.metrics(table).data()
    assert metrics["labels"] == ["Know"] and [s["values"] for s in metrics["series"]] == [[3], [2], [1]]
    board = Dashboard(None, {"delete": 2, "know_specific": 1}, {"correct": 4}, weeks, Backlog(), Backlog())
    rows = charts.by_type(board)
    assert [(r.request_type, r.overdue, r.due_this_week) for r in rows] == [
        ("Delete", 2, 0),
        ("Know (specific pieces)", 1, 0),
        ("Correct", 0, 4),
        ("All types", 3, 4),
    ]


def test_an_identifier_becomes_the_subject_key_intake_gives_it() -> None:
    intake = cast(Any, SimpleNamespace(subject_secret=SECRET))
    for kind, typed in (("email", " Alice@Example.COM "), ("phone", "(415) 555-0134"), ("account_id", " acct-17 "),
                        ("device_id", "dev-abc")):  # fmt: skip
        as_intake = IntakeService.subject_of(intake, {kind: typed}).subject_key
        assert subject_of(SECRET, kind, typed).subject_key == as_intake
    assert subject_of(SECRET, "email", "alice@example.com").hint == "a…@e…"
    assert hint_of(subject_of(SECRET, "phone", "4155550134").kind, "+14155550134") == "…34"


def test_an_invalid_identifier_is_refused_naming_the_problem_never_the_value() -> None:
    for kind, typed in (("email", "alice-at-example"), ("phone", "12"), ("device_id", "x" * 400), ("ssn", "1")):
        with pytest.raises(InvalidIdentifier) as raised:
            subject_of(SECRET, kind, typed)
        told = problem_of(raised.value)
        assert typed not in told and told.endswith(".")
    with pytest.raises(InvalidIdentifier) as empty:
        subject_of(SECRET, "email", "  ")
    assert problem_of(empty.value) == "The e-mail address must not be empty."


def contract_audit(request: httpx.Request) -> httpx.Response:
    """Audit as docs/console.md describes it."""
    if request.url.path == "/v1/queue":
        assert request.headers["authorization"] == f"Bearer {CONSOLE_TOKEN}"
        return httpx.Response(200, json={"items": [{
            "request_id": "r-1", "request_type": "delete", "channel": "web_form", "received_at": "2026-01-02T10:00:00Z",
            "due_at": "2026-02-16T08:00:00+00:00", "extended": False, "responded_at": None, "response_nature": None,
            "review_state": None, "state": "overdue", "days_left": -4}],
            "counts": {"matching": 1, "open": 1, "overdue": 1, "due_within_7_days": 0, "awaiting_review": 0,
                       "answered": 0},
            "next": "http://audit/v1/queue?status=open&cursor=abc", "now": "2026-02-20T00:00:00Z"})  # fmt: skip
    if request.url.path == "/v1/dashboard":
        return httpx.Response(200, json={"now": "2026-02-20T00:00:00Z", "overdue_by_type": {"delete": 1},
                                         "due_this_week_by_type": {}, "throughput": [
                                             {"week_start": "2026-02-16", "received": 2, "answered": 1}],
                                         "recipients": {"awaiting": 3, "overdue": 1, "by_recipient": {"mailer": 3}},
                                         "downstream": {"awaiting": 0, "overdue": 0}})  # fmt: skip
    if request.url.path.endswith("/consent"):
        if "cursor" not in request.url.params:
            return httpx.Response(200, json={"changes": [
                {"event_id": "e1", "request_id": None, "occurred_at": "2026-01-01T00:00:00Z", "producer": "web-shop",
                 "details": {"source": "gpc"}}], "next_cursor": "e1"})  # fmt: skip
        return httpx.Response(200, json={"changes": [
            {"event_id": "e2", "request_id": "r-9", "occurred_at": "2026-01-02T00:00:00Z", "producer": "intake",
             "details": {"source": "gpc"}}], "next_cursor": None})  # fmt: skip
    return httpx.Response(404, json={"detail": "no consent change recorded for this subject key"})


def test_the_audit_client_reads_the_contract() -> None:
    audit = AuditClient("http://audit", CONSOLE_TOKEN, 5, transport=httpx.MockTransport(contract_audit))
    page = audit.queue(queue_view.Filters(status="open").query(None))
    assert page.items[0].state == "overdue" and page.items[0].days_left == -4 and page.items[0].due_at.tzinfo
    assert page.counts.overdue == 1 and page.next_cursor == "abc"
    board = audit.dashboard()
    assert board.recipients.by_recipient == {"mailer": 3} and board.throughput[0].received == 2
    assert [c.event_id for c in audit.consent_history("a" * 64) or []] == ["e1", "e2"]
    assert cursor_of("plain-cursor") == "plain-cursor" and cursor_of(None) is None


def test_no_consent_change_is_none_and_the_optout_state_is_read() -> None:
    audit = AuditClient("http://audit", "t", 5, transport=httpx.MockTransport(lambda _r: httpx.Response(
        404, json={"detail": "no consent change recorded for this subject key"})))  # fmt: skip
    assert audit.consent_history("a" * 64) is None
    optout = OptoutClient("http://optout", "t", 5, transport=httpx.MockTransport(lambda _r: httpx.Response(200, json={
        "subject_key": "a" * 64, "known": True, "sale_opt_out": True, "share_opt_out": True, "limit_sensitive": [],
        "source": "form", "effective_at": "2026-01-01T00:00:00+00:00", "may_ask_after": None, "under_16": False,
        "scope": "consumer", "confirmation": "You opted out."})))  # fmt: skip
    state = optout.consent("a" * 64)
    assert state.known and state.sale_opt_out and state.source == "form" and state.effective_at is not None


def test_the_dlq_counts_what_each_partition_holds() -> None:
    assert waiting(3, 10) == 7 and waiting(-1, -1) == 0 and waiting(0, 0) == 0


def test_the_page_size_is_kept_in_every_link_and_bounded() -> None:
    view = queue_view.parse({"status": "overdue", "per_page": "2"}, [])
    assert view.filters.query(None).page_size == 2 and queue_view.parse({}, []).filters.query(None).page_size == 50
    assert query(queue_view.next_link(view, "c2"))["per_page"] == ["2"]
    assert all(query(link.href)["per_page"] == ["2"] for link in queue_view.count_links(view.filters, QueueCounts()))
    assert queue_view.parse({"per_page": "201"}, []).problems and queue_view.parse({"per_page": "0"}, []).problems
