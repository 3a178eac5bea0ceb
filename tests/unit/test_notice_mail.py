"""The consumer e-mails as rendered (pure): plain words, Pacific dates, the business named, the status link, no
identifier but the recipient's own address in To; and the retry policy's backoff with jitter."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest

from services.intake.business import Business
from services.intake.mail.compose import compose
from services.intake.mail.delivery import ADDRESS_ERASED, RetryPolicy, erased
from services.intake.mail.templates import TEMPLATES
from services.intake.wording import pacific_date

BUSINESS = Business("Acme Outdoor Co.", "privacy@acme.test", "1-800-555-0199", "1 Trail Road, Fresno, CA 93650")
TO = "jane.consumer@example.net"
LINK = "http://intake.test/privacy/status/" + "T" * 43
NOW = datetime(2027, 1, 1, 12, tzinfo=UTC)


def parts(message: EmailMessage) -> tuple[str, str]:
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage) and parsed.get_content_type() == "multipart/alternative"
    text, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_dates_are_the_california_day_written_as_people_write_it() -> None:
    assert pacific_date(datetime(2027, 1, 15, 7, 59, tzinfo=UTC)) == "January 14, 2027"  # still the 14th in LA
    assert pacific_date("2027-01-15T08:00:00+00:00") == "January 15, 2027"
    assert pacific_date(datetime(2027, 7, 4, 18, tzinfo=UTC)) == "July 4, 2027"


def test_the_acknowledgement_names_the_request_the_due_day_the_business_and_the_link() -> None:
    context = {"request_type": "delete", "respond_by": "2027-02-15T07:59:59+00:00", "status_url": LINK}
    message = compose("acknowledgement", context, TO, BUSINESS)
    text, html = parts(message)
    assert message["Subject"] == "Acme Outdoor Co.: we received your privacy request"
    assert message["To"] == TO and message["Reply-To"] == BUSINESS.contact_email
    for body in (text, html):
        assert "request to delete your personal information" in body
        assert "February 14, 2027" in body and "2027-02" not in body
        assert LINK in body and "Acme Outdoor Co." in body and "1-800-555-0199" in body
        assert "1 Trail Road, Fresno, CA 93650" in body and "privacy@acme.test" in body


def test_an_opt_out_acknowledgement_says_no_identity_check_is_needed() -> None:
    context = {"request_type": "opt_out", "respond_by": "2027-01-20T07:59:59+00:00", "status_url": LINK}
    text, _html = parts(compose("acknowledgement", context, TO, BUSINESS))
    assert "stop selling or sharing" in text and "needs no identity check" in text and "January 19, 2027" in text


def test_the_extension_gives_the_reason_and_both_dates_and_escapes_the_reason_in_html() -> None:
    context = {"request_type": "know_specific", "reason": "Our <archive> is large & slow",
               "respond_by": "2027-04-01T06:59:59+00:00", "previous_respond_by": "2027-02-15T07:59:59+00:00",
               "status_url": LINK}  # fmt: skip
    text, html = parts(compose("extension", context, TO, BUSINESS))
    assert "Why: Our <archive> is large & slow" in text
    assert "Our &lt;archive&gt; is large &amp; slow" in html and "<archive>" not in html
    assert "March 31, 2027" in text and "instead of February 14, 2027" in text


@pytest.mark.parametrize(
    ("context", "said"),
    [
        ({"outcome": "completed", "request_type": "delete"}, "We deleted your personal information"),
        ({"outcome": "completed", "request_type": "opt_out"}, "We no longer sell or share your personal information"),
        ({"outcome": "denied", "denial_code": "not_verified", "request_type": "delete"}, "could not confirm your"),
        ({"outcome": "denied", "denial_code": "not_made_by_consumer", "request_type": "limit"}, "signed permission"),
        ({"outcome": "denied", "denial_code": "other", "request_type": "correct"}, "We could not act on this request"),
    ],
)
def test_the_response_says_in_words_what_was_done_or_why_not(context: dict[str, str], said: str) -> None:
    text, html = parts(compose("response", {**context, "status_url": LINK}, TO, BUSINESS))
    assert said in text and said in html
    assert "§" not in text and "not_verified" not in text and "denial" not in text


def test_the_report_ready_mail_points_to_the_status_page_never_to_the_report() -> None:
    context = {"request_type": "know_specific", "expires_at": "2027-01-31T12:00:00+00:00", "status_url": LINK}
    message = compose("report_ready", context, TO, BUSINESS)
    text, html = parts(message)
    assert "January 31, 2027" in text and LINK in text and LINK in html
    assert "/report" not in text + html and "signature" not in text + html
    assert not any(part.get_filename() for part in message.walk())  # nothing attached


@pytest.mark.parametrize("notice", sorted(TEMPLATES))
def test_every_template_names_no_identifier_but_the_recipient_in_to(notice: str) -> None:
    context = {"request_type": "know_specific", "respond_by": "2027-02-15T07:59:59+00:00", "reason": "volume",
               "expires_at": "2027-01-31T12:00:00+00:00", "outcome": "completed", "status_url": LINK}  # fmt: skip
    message = compose(notice, context, TO, BUSINESS)
    text, html = parts(message)
    assert TO not in text + html and "jane" not in (text + html).lower()
    headers = {name: str(value) for name, value in message.items()}
    assert [name for name, value in headers.items() if TO in value] == ["To"]
    for word in ("subject_key", "request_id", "know_specific", "sha256", "hash", "None"):
        assert word not in text and word not in html, word


def test_retries_back_off_doubling_to_the_longest_with_jitter_between_half_and_all() -> None:
    policy = RetryPolicy(initial_seconds=10, max_seconds=60, max_attempts=5)
    assert [policy.delay(n, jitter=lambda: 1.0).total_seconds() for n in (1, 2, 3, 4, 5)] == [10, 20, 40, 60, 60]
    assert policy.delay(2, jitter=lambda: 0.0) == timedelta(seconds=10)
    retry = policy.after_failure(2, "SMTP 451", temporary=True, now=NOW, jitter=lambda: 0.5)
    assert retry.delivery == "retrying" and retry.next_attempt_at == NOW + timedelta(seconds=15)
    assert retry.row_values()["status"] == "pending" and retry.row_values()["attempts"] == 2


def test_a_permanent_refusal_or_the_last_attempt_fails_the_notice() -> None:
    policy = RetryPolicy(initial_seconds=10, max_seconds=60, max_attempts=3)
    refused = policy.after_failure(1, "recipient refused (SMTP 550)", temporary=False, now=NOW)
    assert (
        refused.delivery == "failed"
        and refused.next_attempt_at is None
        and refused.detail == "recipient refused (SMTP 550)"
    )
    exhausted = policy.after_failure(3, "SMTP 451", temporary=True, now=NOW)
    assert exhausted.delivery == "failed" and exhausted.detail == "SMTP 451; gave up after 3 attempts"
    assert exhausted.row_values()["status"] == "failed"
    gone = erased(1, NOW)
    assert gone.delivery == "failed" and gone.detail == ADDRESS_ERASED
