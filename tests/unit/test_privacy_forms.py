"""Unit tests of the request forms' reading (plain-words errors that never quote what was typed), the code e-mail
and the privacy center's rate-limit keys."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from devtools.localstack.ports import free_port
from services.common.request_types import RequestType
from services.intake.business import Business
from services.intake.mail.smtp import DeliveryFailed, SmtpConfig, SmtpMailer, SmtpSecurity
from services.intake.settings import IntakeSettings
from services.intake.web.abuse import Action, RateLimits, TooMany, rate_keys
from services.intake.web.code_mail import TEMPLATE_VERSION, CodeMailer, code_message, detail_name
from services.intake.web.forms import correction_rows, read_form
from services.intake.web.multipart_csrf import first_field

ALICE = {"email": " Alice@Example.com ", "name": "Alice Smith", "postal_code": "94105", "date_of_birth": "1990-01-31"}
SETTINGS = {"CCPA_SERVICE_TOKEN": "t" * 40, "CCPA_SUBJECT_KEY_SECRET": base64.b64encode(b"k" * 32).decode(),
            "CCPA_MASTER_KEYS": json.dumps({"m-1": base64.b64encode(b"m" * 32).decode()}),
            "CCPA_ACTIVE_MASTER_KEY": "m-1", "CCPA_API_TOKEN": "o" * 40}  # fmt: skip


def test_a_complete_know_specific_form_becomes_its_submission() -> None:
    form = ALICE | {"declaration": "signed", "date_start": "2023-01-01", "csrftoken": "x"}
    body = read_form(RequestType.KNOW_SPECIFIC, form).body
    assert body is not None
    assert body.identifiers.email == "alice@example.com" and body.channel == "web_form"
    assert body.verification.data_points == {"name": "Alice Smith", "postal_code": "94105",
                                             "date_of_birth": "1990-01-31"}  # fmt: skip
    assert body.verification.signed_declaration and body.date_range and body.date_range.start.year == 2023


def test_errors_name_each_field_in_plain_words_and_never_quote_it() -> None:
    typed = {"email": "alice-at-example", "phone": "12", "postal_code": "9410X", "date_of_birth": "1990-13-45",
             "date_start": "2019-01-01", "name": "Alice\x07"}  # fmt: skip
    result = read_form(RequestType.KNOW_SPECIFIC, typed)
    assert result.body is None
    assert set(result.errors) == {"email", "phone", "postal_code", "date_of_birth", "date_start", "declaration", "name"}
    for message in result.errors.values():
        assert all(value.strip() not in message for value in typed.values())
    assert result.values["email"] == "alice-at-example"  # shown again only inside the consumer's own form


def test_a_date_is_read_as_a_date_field_sends_it_or_as_typed_in_the_us() -> None:
    for typed in ("1990-01-31", "01/31/1990", "1/31/1990"):
        body = read_form(RequestType.DELETE, {"email": "a@example.com", "date_of_birth": typed}).body
        assert body is not None and body.verification.data_points["date_of_birth"] == "1990-01-31"
    assert "date_of_birth" in read_form(RequestType.DELETE, {"email": "a@example.com",
                                                             "date_of_birth": "31/01/1990"}).errors  # fmt: skip


def test_the_email_is_required() -> None:
    assert "email" in read_form(RequestType.DELETE, {"name": "Alice Smith"}).errors


def test_corrections_come_in_rows_of_field_and_value() -> None:
    form = ALICE | {"correct_field_0": "postal_code", "correct_value_0": "94107", "correct_field_2": "full_name",
                    "correct_value_2": "Alice B. Smith"}  # fmt: skip
    body = read_form(RequestType.CORRECT, form).body
    assert body is not None and body.corrections == {"postal_code": "94107", "full_name": "Alice B. Smith"}
    empty = read_form(RequestType.CORRECT, ALICE).errors
    assert "correct_field_0" in empty
    twice = ALICE | {"correct_field_0": "phone", "correct_value_0": "1", "correct_field_1": "phone",
                     "correct_value_1": "2", "correct_field_2": "ssn", "correct_value_2": "3"}  # fmt: skip
    assert set(read_form(RequestType.CORRECT, twice).errors) == {"correct_field_1", "correct_field_2"}
    assert correction_rows({"correct_value_5": "x"}) == 6 and correction_rows({}) == 3


def test_an_agent_form_needs_the_agent_name_and_the_permission() -> None:
    missing = read_form(RequestType.OPT_OUT, {"email": "alice@example.com"}, agent=True)
    assert set(missing.errors) == {"agent_name", "permission"}
    done = read_form(RequestType.OPT_OUT, {"email": "alice@example.com", "agent_name": "Acme Agents"}, agent=True,
                     permission_reference="agent-permission:1")  # fmt: skip
    assert done.body is not None and done.body.channel == "agent_portal"
    assert done.body.authorized_agent is not None and done.body.authorized_agent.signed_permission


def test_the_code_mail_is_text_and_html_with_the_business_and_the_code_and_no_other_link() -> None:
    business = Business("Juniper & Finch", "privacy@example.com", "1-800-555-0100", "1 Main St")
    message = code_message(business, "https://shop.example/privacy/", "delete", False, "042917", 15)
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert "042917" in text.get_content() and "Juniper & Finch" in text.get_content()
    assert "Juniper &amp; Finch" in html.get_content() and "15 minutes" in html.get_content()
    assert html.get_content().count("href=") == 1 and 'href="https://shop.example/privacy/"' in html.get_content()
    assert TEMPLATE_VERSION


def test_a_delivery_failure_is_a_machine_name_on_the_timeline() -> None:
    assert detail_name(DeliveryFailed("recipient refused (SMTP 550)", False)) == "recipient_refused_SMTP_550"


def test_rate_limits_count_per_address_and_per_identifier_and_say_when_to_retry() -> None:
    assert rate_keys(Action.FORM, "10.0.0.1", "ab" * 32) == [("form", "address", "10.0.0.1"),
                                                             ("form", "identifier", "ab" * 32)]  # fmt: skip
    assert rate_keys(Action.CODE_TRIED, None, None) == []
    limits = RateLimits("memory://", "3/minute", {Action.FORM: "2/minute"})
    limits.hit(Action.FORM, "10.0.0.1", "subject-a")
    limits.hit(Action.FORM, "10.0.0.1", "subject-b")
    limits.hit(Action.FORM, "10.0.0.1", None)
    with pytest.raises(TooMany) as refused:
        limits.hit(Action.FORM, "10.0.0.1", "subject-c")  # the address's own count
    assert 1 <= refused.value.retry_after <= 60
    limits.hit(Action.FORM, "10.0.0.2", "subject-c")  # another address, another identifier: let through
    limits.hit(Action.FORM, "10.0.0.3", "subject-a")
    with pytest.raises(TooMany):
        limits.hit(Action.FORM, "10.0.0.4", "subject-a")  # the identifier's own count, from any address
    limits.hit(Action.CODE_SENT, "10.0.0.4", "subject-a")  # each action counts apart


def test_the_captcha_hook_is_off_by_default_and_whole_when_on(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    assert IntakeSettings().captcha_verify_url is None
    monkeypatch.setenv("CCPA_CAPTCHA_VERIFY_URL", "https://captcha.example/siteverify")
    with pytest.raises(ValueError, match="CCPA_CAPTCHA_SECRET"):
        IntakeSettings()


@pytest.mark.parametrize("variable", ["CCPA_PRIVACY_ADDRESS_RATE_LIMIT", "CCPA_PRIVACY_SUBMIT_RATE_LIMIT",
                                      "CCPA_PRIVACY_CODE_SEND_LIMIT", "CCPA_PRIVACY_CODE_TRY_LIMIT",
                                      "CCPA_CHOICES_RATE_LIMIT"])  # fmt: skip
def test_an_unreadable_rate_limit_is_refused_at_start_up(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(variable, "ten per hour")
    with pytest.raises(ValueError, match="couldn't parse rate limit string"):
        IntakeSettings()


def multipart(*parts: tuple[str, str | None, bytes]) -> bytes:
    body = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--XyZ\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    return body + b"--XyZ--\r\n"


def test_the_csrf_token_is_read_from_a_multipart_forms_first_part_only() -> None:
    body = multipart(("csrftoken", None, b"tok.en-1"), ("permission", "p.png", b"\x89PNG..."))
    assert first_field(body, b"XyZ", "csrftoken") == "tok.en-1"
    assert first_field(multipart(("email", None, b"a@b"), ("csrftoken", None, b"t")), b"XyZ", "csrftoken") is None
    assert first_field(multipart(("csrftoken", "f.txt", b"t")), b"XyZ", "csrftoken") is None  # a file is no token
    assert first_field(b"garbage", b"XyZ", "csrftoken") is None


def test_a_code_mail_that_cannot_be_sent_is_a_failed_delivery_not_an_error() -> None:
    closed = free_port()  # nothing listens there: a real connection refused
    config = SmtpConfig("127.0.0.1", closed, SmtpSecurity.NONE, None, None, "Privacy <privacy@example.com>", 2.0)
    business = Business("Example Co.", "privacy@example.com", "1-800-555-0100", "1 Main St")
    mailer = CodeMailer(SmtpMailer(config), business, "http://127.0.0.1/privacy/", 15)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    delivery = mailer.send("alice@example.com", "delete", False, "123456", 1, "ab" * 32, now)
    assert (delivery.delivery, delivery.detail, delivery.message_id) == ("failed", "mail_server_unreachable_"
                                                                         "ConnectionRefusedError", None)  # fmt: skip
    assert delivery.recipient_key == "ab" * 32 and delivery.template_version == TEMPLATE_VERSION
    off = CodeMailer(None, business, "http://127.0.0.1/privacy/", 15).send("a@example.com", "delete", False, "1",
                                                                           1, "k", now)  # fmt: skip
    assert off.delivery == "failed" and off.detail == "mail_is_not_configured"


def test_which_describes_you_becomes_the_request_s_subject_type_and_a_stray_answer_is_an_error() -> None:
    applicant = read_form(RequestType.DELETE, ALICE | {"subject_type": "job_applicant"}).body
    assert applicant is not None and applicant.subject_type == "job_applicant"
    unanswered = read_form(RequestType.DELETE, ALICE).body
    assert unanswered is not None and unanswered.subject_type == "consumer"
    stray = read_form(RequestType.DELETE, ALICE | {"subject_type": "landlord"})
    assert stray.body is None and stray.errors == {"subject_type": "Choose which of these describes you."}
