"""The privacy center's pure parts: the status page's steps and answers in words, the choices in words, the sensitive
categories' labels, the per-address throttle, the device id, and the CSRF field first in every form."""

from __future__ import annotations

import re

import pytest
from starlette.requests import Request

from services.common.request_types import RequestType
from services.common.sensitive import SENSITIVE_CATEGORIES
from services.intake.web.abuse import Action, RateLimits, TooMany
from services.intake.web.device import device_of, new_device_id
from services.intake.web.templating import TEMPLATES
from services.intake.web.texts import SENSITIVE_LABELS
from services.intake.web.wording import choice_state, steps
from services.intake.wording import answer

ENGINEERING = re.compile(r"_|§|\bsubject|\bstore\b|complied|not_verified|sha256|\bstate version")


def test_an_open_request_is_received_and_being_worked_on() -> None:
    assert [(step.name, step.state) for step in steps("know_specific", "acknowledged")] == [
        ("We received your request", "done"),
        ("We checked your identity and are working on it", "current"),
        ("We answered", "upcoming"),
    ]
    assert [step.state for step in steps("opt_out", "received")] == ["done", "current", "upcoming"]


@pytest.mark.parametrize("status", ["completed", "denied"])
def test_an_answered_request_has_every_step_done(status: str) -> None:
    assert [step.state for step in steps("delete", status)] == ["done", "done", "done"]
    assert steps("delete", status)[1].name == "We checked your identity and worked on it"
    assert steps("limit", status)[-1].name == "Done"


def test_no_answer_while_the_request_is_open() -> None:
    assert answer("delete", "acknowledged", None, None) is None


@pytest.mark.parametrize("request_type", list(RequestType))
@pytest.mark.parametrize("outcome", ["complied", "complied_in_part"])
def test_every_completed_answer_is_a_plain_sentence(request_type: RequestType, outcome: str) -> None:
    said = answer(request_type.value, "completed", outcome, None)
    assert said is not None and not said.denied
    assert all(not ENGINEERING.search(sentence) for sentence in (said.headline, *said.sentences))


def test_a_deletion_kept_in_part_says_why_some_is_kept() -> None:
    said = answer("delete", "completed", "complied_in_part", None)
    assert said is not None and said.headline == "We did part of what you asked"
    assert "keep some of it" in " ".join(said.sentences)


@pytest.mark.parametrize("code", ["not_verified", "not_made_by_consumer", "exempt", "other", None, "something_new"])
def test_every_denial_is_told_in_words_never_as_its_code(code: str | None) -> None:
    said = answer("know_specific", "denied", "denied", code)
    assert said is not None and said.denied and said.headline == "We could not do what you asked"
    assert all(not ENGINEERING.search(sentence) for sentence in said.sentences)


def test_an_unverified_deletion_points_to_the_opt_out_that_needs_no_proof() -> None:
    said = answer("delete", "denied", "denied", "not_verified")
    assert said is not None
    assert "confirm your identity" in said.sentences[0]
    assert "stop selling or sharing" in said.sentences[1]


def test_choices_in_words() -> None:
    out = choice_state({"sale_opt_out": True, "share_opt_out": True, "limit_sensitive": ["health", "genetic"]},
                       SENSITIVE_LABELS)  # fmt: skip
    assert out.opted_out and out.limited == ("genetic", "health")
    assert out.sentences == ("You have opted out: we do not sell or share your personal information.",
                             "You have limited how we use your sensitive personal information: genetic data, "
                             "health information.")  # fmt: skip
    none = choice_state({"sale_opt_out": False, "share_opt_out": False, "limit_sensitive": []}, SENSITIVE_LABELS)
    assert not none.opted_out and not none.allowed_by_choice  # nothing on record is not an opt-in
    opted_in = choice_state({"sale_opt_out": False, "share_opt_out": False, "limit_sensitive": [],
                             "consumer": {"known": True}, "device": None}, SENSITIVE_LABELS)  # fmt: skip
    assert opted_in.allowed_by_choice and not out.allowed_by_choice
    assert none.sentences[0] == "You have not opted out of the sale or sharing of your personal information."


def test_every_sensitive_category_has_a_label_for_people() -> None:
    assert list(SENSITIVE_LABELS) == list(SENSITIVE_CATEGORIES)
    assert all("_" not in label for label in SENSITIVE_LABELS.values())


def _request(address: str, cookies: str = "") -> Request:
    headers = [(b"cookie", cookies.encode())] if cookies else []
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers, "client": (address, 5000)})


def test_the_choices_limit_refuses_an_address_past_its_own_rate_with_the_seconds_to_wait() -> None:
    limits = RateLimits("memory://", "100/minute", {}, {Action.CHOICE: "3/minute"})
    for _ in range(3):
        limits.hit(Action.CHOICE, "10.0.0.1")
    with pytest.raises(TooMany) as refused:
        limits.hit(Action.CHOICE, "10.0.0.1")
    assert 1 <= refused.value.retry_after <= 60
    limits.hit(Action.CHOICE, "10.0.0.2")  # another address has its own count
    for _ in range(5):
        limits.hit(Action.FORM, "10.0.0.1")  # the forms count apart, at the address rate


def test_the_device_id_is_random_and_only_ours_is_read_back() -> None:
    first, second = new_device_id(), new_device_id()
    assert first != second and len(first) == 36
    assert device_of(_request("10.0.0.1", f"ccpa_device={first}")) == first
    assert device_of(_request("10.0.0.1", "ccpa_device=someone-elses-id")) is None
    assert device_of(_request("10.0.0.1")) is None


def test_every_post_form_carries_the_csrf_token_as_its_first_field() -> None:
    form = re.compile(r"<form\b[^>]*method=\"post\"[^>]*>\s*(<input[^>]*>)", re.I)
    for path in TEMPLATES.glob("*.j2"):
        text = path.read_text()
        for first_field in form.findall(text):
            assert 'name="csrftoken"' in first_field and 'value="{{ csrf_token }}"' in first_field, path.name
        assert text.count('method="post"') == len(form.findall(text)), path.name


def test_an_opt_out_on_record_is_confirmed_in_the_look_up_s_words() -> None:
    honoured = {"sale_opt_out": True, "share_opt_out": True, "limit_sensitive": [],
                "confirmation": "Opt-Out Request Honored"}  # fmt: skip
    assert choice_state(honoured, SENSITIVE_LABELS).confirmation == "Opt-Out Request Honored"
    none = {"sale_opt_out": False, "share_opt_out": False, "limit_sensitive": [],
            "confirmation": "No opt-out of sale or sharing is in effect"}  # fmt: skip
    assert choice_state(none, SENSITIVE_LABELS).confirmation is None
