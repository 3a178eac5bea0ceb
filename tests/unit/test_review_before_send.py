"""Review before send as pure rules: the setting read at start-up, the review's states and the decisions it takes,
what becomes of an answer's e-mail, and the words a consumer reads about a held or withdrawn answer."""

from __future__ import annotations

import base64
import email
import json
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from services.common.request_types import RequestType
from services.intake.business import Business
from services.intake.mail.compose import compose
from services.intake.review import (
    AlreadyDecided,
    AnswerNotReady,
    Disposition,
    NotUnderReview,
    ReasonRequired,
    Review,
    ReviewState,
    Verdict,
    decide,
    disposition,
    is_held,
    links_released,
    parse_review_types,
)
from services.intake.settings import IntakeSettings
from services.intake.web.wording import steps
from services.intake.wording import HELD, withheld

NOW = datetime(2027, 1, 10, 12, tzinfo=UTC)
READY = datetime(2027, 1, 9, 12, tzinfo=UTC)
REVIEWER = "6f1c2b9e-3d4a-4b5c-8d7e-9f0a1b2c3d4e"
SETTINGS = {"CCPA_SERVICE_TOKEN": "t" * 40, "CCPA_SUBJECT_KEY_SECRET": base64.b64encode(b"k" * 32).decode(),
            "CCPA_MASTER_KEYS": json.dumps({"m-1": base64.b64encode(b"m" * 32).decode()}),
            "CCPA_ACTIVE_MASTER_KEY": "m-1", "CCPA_API_TOKEN": "o" * 40}  # fmt: skip
PENDING = Review(ReviewState.PENDING, READY)


def test_the_setting_names_request_types_separated_by_commas() -> None:
    assert parse_review_types("") == frozenset()
    assert parse_review_types(" know_specific , delete,") == {RequestType.KNOW_SPECIFIC, RequestType.DELETE}


def test_an_unknown_type_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="'know_everything' is no request type"):
        parse_review_types("know_specific,know_everything")


def test_the_intake_settings_refuse_an_unknown_type_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    assert IntakeSettings().review_types() == frozenset(), "off by default"
    monkeypatch.setenv("CCPA_REVIEW_BEFORE_SEND", "know_specific")
    assert IntakeSettings().review_types() == {RequestType.KNOW_SPECIFIC}
    monkeypatch.setenv("CCPA_REVIEW_BEFORE_SEND", "know_specific,Delete")
    with pytest.raises(ValueError, match="'Delete' is no request type"):
        IntakeSettings()


def test_an_answer_is_held_while_its_review_is_pending_and_dropped_once_denied() -> None:
    assert disposition(None) is Disposition.SEND
    assert disposition(Review(ReviewState.PENDING)) is Disposition.HOLD
    assert disposition(Review(ReviewState.APPROVED, READY, NOW)) is Disposition.SEND
    assert disposition(Review(ReviewState.DENIED, READY, NOW, "wrong person")) is Disposition.DROP


def test_the_report_links_go_out_only_without_review_or_once_approved() -> None:
    assert links_released(None) and links_released(Review(ReviewState.APPROVED, READY, NOW))
    assert not links_released(PENDING) and not links_released(Review(ReviewState.DENIED, READY, NOW, "wrong"))
    assert is_held(PENDING) and not is_held(Review(ReviewState.PENDING)), "nothing is held before the answer"


def test_approval_and_denial_decide_a_held_answer_once() -> None:
    approved = decide(PENDING, Verdict.APPROVED, None, REVIEWER, NOW)
    assert approved == Review(ReviewState.APPROVED, READY, NOW, None, REVIEWER)
    denied = decide(PENDING, Verdict.DENIED, "  It names another customer  ", REVIEWER, NOW)
    assert denied.state is ReviewState.DENIED and denied.reason == "It names another customer"
    with pytest.raises(AlreadyDecided, match="approved already"):
        decide(approved, Verdict.DENIED, "changed my mind", REVIEWER, NOW)
    with pytest.raises(AlreadyDecided, match="denied already"):
        decide(denied, Verdict.APPROVED, None, REVIEWER, NOW)


def test_a_review_needs_a_held_answer() -> None:
    with pytest.raises(NotUnderReview, match="not under review"):
        decide(None, Verdict.APPROVED, None, REVIEWER, NOW)
    with pytest.raises(AnswerNotReady, match="not ready yet"):
        decide(Review(ReviewState.PENDING), Verdict.APPROVED, None, REVIEWER, NOW)


@pytest.mark.parametrize("reason", [None, "", "    ", "no", "x" * 501])
def test_a_denial_says_why_in_five_to_five_hundred_characters(reason: str | None) -> None:
    with pytest.raises(ReasonRequired, match="5 to 500 characters"):
        decide(PENDING, Verdict.DENIED, reason, REVIEWER, NOW)


def test_the_status_page_says_a_held_answer_is_being_reviewed() -> None:
    assert "ready" in HELD.headline and "reviews it" in HELD.sentences[0] and not HELD.denied
    names = [(step.name, step.state) for step in steps("know_specific", "completed", held=True)]
    assert names[-1] == ("We are reviewing our answer before we send it", "current")
    assert [state for _name, state in names[:2]] == ["done", "done"]


def test_a_withdrawn_answer_tells_the_reason_in_the_consumers_words() -> None:
    told = withheld("The report included records of another customer.")
    assert told.denied and told.sentences[0].endswith("we could not send it: The report included records of "
                                                      "another customer.")  # fmt: skip


def test_the_withdrawal_e_mail_gives_the_reason() -> None:
    business = Business("Acme Outdoor Co.", "privacy@acme.test", "1-800-555-0199", "1 Trail Road, Fresno, CA 93650")
    context = {"request_type": "know_specific", "outcome": "denied", "denial_code": None,
               "review_reason": "It included records of another customer", "status_url": "http://x"}  # fmt: skip
    message = compose("response", context, "jane@example.net", business)
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    text = parsed.get_body(("plain",))
    assert text is not None
    body = " ".join(text.get_content().split())
    assert "we cannot do what you asked" in body and "records of another customer" in body
