"""The privacy center's request forms through real HTTP against the full world: a form, its e-mailed code (read from
Mailpit), the request it becomes; void after the last wrong code; CSRF, body limits, rate limits; agents' uploads."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from devtools.localstack import MailServer
from tests.e2e.demo_world import World
from tests.e2e.privacy_forms import code_mails, csrf_of, intake_rows, request_of_status
from tests.support import wait_for

pytestmark = pytest.mark.e2e

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n% signed permission\n" + b"0" * 64


@pytest.fixture
def browser_like(full_world: World) -> Iterator[httpx.Client]:
    """A client that keeps cookies (the CSRF cookie) and does not follow redirects."""
    with httpx.Client(base_url=full_world.pipeline.intake.url, timeout=30) as client:
        yield client


def open_form(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


Files = dict[str, tuple[str, bytes, str]]


def send(client: httpx.Client, path: str, fields: dict[str, str], files: Files | None = None) -> httpx.Response:
    token = open_form(client, path)
    return client.post(path, data={"csrftoken": token, **fields}, files=files)


def type_code(client: httpx.Client, verify_path: str, code: str, csrf: str | None = None) -> httpx.Response:
    return client.post(verify_path, data={"csrftoken": csrf or open_form(client, verify_path), "code": code})


def test_a_form_with_mistakes_comes_back_with_a_message_per_field_never_quoting_it(browser_like: httpx.Client) -> None:
    typed = {"email": "not-an-address", "postal_code": "ABCDE", "date_of_birth": "31/12/1990", "name": "Q. Quux"}
    response = send(browser_like, "/privacy/requests/know_specific", typed)
    assert response.status_code == 422
    page = response.text
    assert 'href="#email"' in page and 'href="#postal_code"' in page and 'href="#declaration"' in page
    assert 'aria-invalid="true"' in page and 'aria-describedby="email-hint email-error"' in page
    assert 'value="not-an-address"' in page and 'value="Q. Quux"' in page  # kept in the consumer's own form
    assert page.count("not-an-address") == 1 and page.count("ABCDE") == 1


def test_a_delete_through_the_form_and_its_code_becomes_one_verified_request(
    full_world: World, mail_server: MailServer, browser_like: httpx.Client
) -> None:
    customer = full_world.customers[41]
    started = send(browser_like, "/privacy/requests/delete", {"email": customer.email})
    assert started.status_code == 303 and started.headers["location"].startswith("/privacy/verify/")
    verify = started.headers["location"]
    assert intake_rows(full_world, "SELECT 1 FROM pending_submissions WHERE state = 'awaiting_code'")
    (code,) = code_mails(mail_server, customer.email)
    mail = mail_server.messages(to=customer.email)[0]
    assert "Example Co." in mail.text and code in mail.html and mail.html.count("href=") == 1

    csrf = open_form(browser_like, verify)
    confirmed = type_code(browser_like, verify, code, csrf)
    assert confirmed.status_code == 303 and confirmed.headers["location"].startswith("/privacy/status/")
    again = type_code(browser_like, verify, code, csrf)  # a double submit: the same request, the same link
    assert again.status_code == 303 and again.headers["location"] == confirmed.headers["location"]
    assert browser_like.get(verify).headers["location"] == confirmed.headers["location"]

    request_id = request_of_status(full_world, confirmed.headers["location"])
    status = full_world.get(request_id)
    # Only the e-mail was given: it matches, and its control is proven by the code, two points (the API alone: one).
    assert status["type"] == "delete" and status["channel"] == "web_form"
    assert status["verification"]["outcome"] == "verified" and status["verification"]["achieved"] == "reasonable"
    assert len(intake_rows(full_world, "SELECT 1 FROM idempotency_keys WHERE request_id = :id", id=request_id)) == 1

    def noticed() -> list[dict[str, object]] | None:
        entries = [entry for entry in full_world.timeline(request_id) if entry["event_type"] == "NoticeSent"
                   and entry["details"]["notice"] == "verification_code"]  # the acknowledgement follows  # fmt: skip
        return entries or None

    (notice,) = wait_for(noticed, timeout=60, what="the code e-mail's NoticeSent on the timeline")
    details = notice["details"]
    assert isinstance(details, dict)
    assert details["notice"] == "verification_code" and details["delivery"] == "sent"
    assert len(str(details["recipient_key"])) == 64 and customer.email not in str(notice)


def test_five_wrong_codes_void_the_form_and_the_right_one_no_longer_works(
    mail_server: MailServer, browser_like: httpx.Client, full_world: World
) -> None:
    email = "forms.void.test@example.com"
    started = send(browser_like, "/privacy/requests/know_categories", {"email": email})
    verify = started.headers["location"]
    (code,) = code_mails(mail_server, email)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for tries_left in (4, 3, 2, 1):
        answer = type_code(browser_like, verify, wrong)
        assert answer.status_code == 422 and f"you have {tries_left} tr" in answer.text
    last = type_code(browser_like, verify, wrong)
    assert last.status_code == 410 and "Please start again" in last.text
    assert browser_like.get(verify).status_code == 410
    assert type_code(browser_like, verify, code, open_form(browser_like, "/privacy/requests/delete")).status_code == 410
    assert intake_rows(full_world, "SELECT 1 FROM pending_submissions WHERE state = 'void' AND body_sealed IS NULL")


def test_a_form_without_its_csrf_token_is_refused_with_a_page(browser_like: httpx.Client) -> None:
    open_form(browser_like, "/privacy/requests/delete")  # the browser now holds the CSRF cookie
    refused = browser_like.post("/privacy/requests/delete", data={"email": "forms.csrf@example.com"})
    assert refused.status_code == 403 and "Please send the form again" in refused.text
    upload = {"permission": ("p.png", PNG, "image/png")}
    fields = {"email": "forms.csrf@example.com", "agent_name": "Acme Agents"}
    for token in ({}, {"csrftoken": "forged"}):  # the multipart agent form: no token, a wrong one
        forged = browser_like.post("/privacy/agent/opt_out", data={**token, **fields}, files=upload)
        assert forged.status_code == 403 and "Please send the form again" in forged.text


def test_a_form_body_over_the_limit_is_413_and_an_agent_upload_has_its_own_limit(
    browser_like: httpx.Client, full_world: World
) -> None:
    too_long = send(browser_like, "/privacy/requests/delete", {"email": "a@example.com", "name": "x" * 70_000})
    assert too_long.status_code == 413 and "text/html" in too_long.headers["content-type"]
    fields = {"email": "forms.agent.big@example.com", "agent_name": "Acme Agents"}
    big = send(browser_like, "/privacy/agent/opt_out", fields, {"permission": ("p.png", PNG + b"0" * 3_000_000,
                                                                             "image/png")})  # fmt: skip
    assert big.status_code == 413
    fits = send(browser_like, "/privacy/agent/opt_out", fields, {"permission": ("p.png", PNG + b"0" * 200_000,
                                                                              "image/png")})  # fmt: skip
    assert fits.status_code == 303


def test_codes_sent_to_one_address_are_rate_limited_with_a_page_and_retry_after(
    mail_server: MailServer, browser_like: httpx.Client
) -> None:
    email = "forms.limit.test@example.com"
    verify = send(browser_like, "/privacy/requests/know_categories", {"email": email}).headers["location"]
    for sent in range(2, 6):
        again = browser_like.post(f"{verify}/resend", data={"csrftoken": open_form(browser_like, verify)})
        assert again.status_code == 303, again.text
        code_mails(mail_server, email, sent)
    refused = browser_like.post(f"{verify}/resend", data={"csrftoken": open_form(browser_like, verify)})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert "Please wait a little" in refused.text and email not in refused.text


def test_an_agent_opt_out_with_a_png_needs_no_code_and_the_file_is_kept_sealed(
    full_world: World, browser_like: httpx.Client, mail_server: MailServer
) -> None:
    email = "forms.agent.optout@example.com"
    refused = send(browser_like, "/privacy/agent/opt_out", {"email": email, "agent_name": "Acme Agents"},
                   {"permission": ("permission.png", b"GIF89a not really", "image/png")})  # fmt: skip
    assert refused.status_code == 422 and "not a PDF, PNG or JPEG" in refused.text
    done = send(browser_like, "/privacy/agent/opt_out", {"email": email, "agent_name": "Acme Agents"},
                {"permission": ("permission.png", PNG, "image/png")})  # fmt: skip
    assert done.status_code == 303 and done.headers["location"].startswith("/privacy/status/")
    request_id = request_of_status(full_world, done.headers["location"])
    status = full_world.get(request_id)
    assert status["type"] == "opt_out" and status["channel"] == "agent_portal"
    (stored,) = intake_rows(full_world, "SELECT media_type, size, content_sealed FROM agent_permissions "
                                        "WHERE request_id = :id", id=request_id)  # fmt: skip
    assert stored.media_type == "image/png" and stored.size == len(PNG) and "PNG" not in str(stored.content_sealed)
    # §7060(b): no code for an opt-out (the acknowledgement and the answer are mailed as for any request)
    assert [mail.subject for mail in mail_server.messages(to=email) if "Your code" in mail.subject] == []


def test_an_agent_delete_sends_the_code_to_the_consumer_who_confirms_it(
    full_world: World, mail_server: MailServer, browser_like: httpx.Client
) -> None:
    customer = full_world.customers[44]
    fields = {"email": customer.email, "name": customer.full_name, "postal_code": customer.postal_code,
              "agent_name": "Acme Agents"}  # fmt: skip
    started = send(browser_like, "/privacy/agent/delete", fields, {"permission": ("signed.pdf", PDF,
                                                                                  "application/pdf")})  # fmt: skip
    assert started.status_code == 303, started.text
    (code,) = code_mails(mail_server, customer.email)
    assert "authorised agent" in mail_server.messages(to=customer.email)[0].text
    confirmed = type_code(browser_like, started.headers["location"], code)
    request_id = request_of_status(full_world, confirmed.headers["location"])
    status = full_world.get(request_id)
    assert status["verification"]["outcome"] == "verified" and status["channel"] == "agent_portal"
    rows = intake_rows(full_world, "SELECT authorized_agent FROM requests WHERE request_id = :id", id=request_id)
    assert rows[0].authorized_agent
    assert intake_rows(full_world, "SELECT 1 FROM agent_permissions WHERE request_id = :id", id=request_id)


def test_an_expired_code_says_so_and_a_new_one_works(
    full_world: World, mail_server: MailServer, browser_like: httpx.Client
) -> None:
    email = "forms.expired.test@example.com"
    verify = send(browser_like, "/privacy/requests/know_categories", {"email": email}).headers["location"]
    (old,) = code_mails(mail_server, email)
    csrf = open_form(browser_like, verify)
    engine = sa.create_engine(full_world.pipeline.config.intake_db_url)
    try:
        with engine.begin() as conn:  # fifteen minutes pass
            conn.execute(sa.text("UPDATE pending_submissions SET expires_at = now() - interval '1 minute' "
                                 "WHERE state = 'awaiting_code' AND codes_sent = 1 AND created_at > now() - "
                                 "interval '5 minutes' AND request_type = 'know_categories'"))  # fmt: skip
    finally:
        engine.dispose()
    page = browser_like.get(verify)
    assert page.status_code == 200 and "This code has expired" in page.text
    expired = type_code(browser_like, verify, old, csrf)
    assert expired.status_code == 410 and "This code has expired" in expired.text
    assert browser_like.post(f"{verify}/resend", data={"csrftoken": csrf}).status_code == 303
    new, _old = code_mails(mail_server, email, 2)
    assert type_code(browser_like, verify, old, csrf).status_code == 422  # only the newest code works
    assert type_code(browser_like, verify, new, csrf).headers["location"].startswith("/privacy/status/")
