"""Words for people in the consumer e-mails and on the privacy center's pages: request types, answers and
denials in plain language, dates in Pacific time ("January 15, 2027")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.common.pacific import long_date
from services.common.request_types import RequestType

REQUEST_NAMES = {
    RequestType.KNOW_CATEGORIES: "request to know what kinds of personal information we collect about you",
    RequestType.KNOW_SPECIFIC: "request for a copy of the personal information we hold about you",
    RequestType.DELETE: "request to delete your personal information",
    RequestType.CORRECT: "request to correct your personal information",
    RequestType.OPT_OUT: "request that we stop selling or sharing your personal information",
    RequestType.LIMIT: "request to limit how we use your sensitive personal information",
    RequestType.OPT_IN: "request to allow us again to sell or share your personal information",
}

NEXT_STEPS = {
    RequestType.KNOW_CATEGORIES: "We are looking through our records for the kinds of information we hold about you.",
    RequestType.KNOW_SPECIFIC: "We are gathering the information we hold about you into a report you can download.",
    RequestType.DELETE: "We are finding your information in our systems so that we can delete it.",
    RequestType.CORRECT: "We are finding the information you asked us to correct so that we can fix it.",
    RequestType.OPT_OUT: "We are telling our systems and our partners to stop selling or sharing your information.",
    RequestType.LIMIT: "We are telling our systems to use your sensitive information only as the law allows.",
    RequestType.OPT_IN: "We are recording your choice in our systems.",
}

ANSWERED = frozenset({"completed", "denied"})


@dataclass(frozen=True)
class Answer:
    headline: str
    sentences: tuple[str, ...]
    denied: bool


_COMPLIED: dict[str, str] = {
    RequestType.KNOW_CATEGORIES: "We have told you what kinds of personal information we collect about you, where "
    "it comes from, why we use it and who we give it to.",
    RequestType.KNOW_SPECIFIC: "We have gathered the personal information we hold about you into a report.",
    RequestType.DELETE: "We deleted your personal information and told our service providers to delete it too.",
    RequestType.CORRECT: "We corrected the information you told us was wrong, and told our service providers.",
    RequestType.OPT_OUT: "We no longer sell or share your personal information.",
    RequestType.LIMIT: "We now use your sensitive personal information only for what you asked of us.",
    RequestType.OPT_IN: "As you asked, we may again sell or share your personal information, or use it as before.",
}
_IN_PART: dict[str, str] = {
    RequestType.KNOW_CATEGORIES: "Some of our systems could not be searched, so the answer may be incomplete; we "
    "keep trying.",
    RequestType.KNOW_SPECIFIC: "Some of our systems could not be searched, so the report may be incomplete.",
    RequestType.DELETE: "The law lets or requires us to keep some of it (for example records we must keep for taxes), "
    "and we only use what we keep for that reason. Some of our service providers have not yet confirmed.",
    RequestType.CORRECT: "We could not correct everything you asked, for example information we do not hold, or a "
    "service provider has not yet confirmed.",
}
_DENIED: dict[str, str] = {
    "not_verified": "We could not confirm your identity from the details you gave, so we could not act on this "
    "request. You can ask again with more details that match what we hold.",
    "not_made_by_consumer": "The request was made for you by someone else without your signed permission, so we "
    "could not act on it.",
    "exempt": "The law allows us not to do this for the information concerned (an exception applies).",
}
_DENIED_OTHER = "We could not act on this request."
_DENIED_DELETE_TIP = ("You can still ask us to stop selling or sharing your personal information: that needs no "
                      "proof of identity.")  # fmt: skip


def answer(request_type: str, status: str, outcome: str | None, denial_code: str | None) -> Answer | None:
    """The answer in plain words, or None while the request is not answered."""
    if not is_answered(status):
        return None
    if status == "denied":
        sentences = [_DENIED.get(denial_code or "", _DENIED_OTHER)]
        if request_type == RequestType.DELETE:
            sentences.append(_DENIED_DELETE_TIP)
        return Answer("We could not do what you asked", tuple(sentences), denied=True)
    sentences = [_COMPLIED.get(request_type, "We did what you asked.")]
    if outcome == "complied_in_part" and request_type in _IN_PART:
        return Answer("We did part of what you asked", (*sentences, _IN_PART[request_type]), denied=False)
    return Answer("We did what you asked", tuple(sentences), denied=False)


HELD = Answer(
    "Your answer is ready and is being reviewed",
    ("Our answer to your request is ready. Before we send it, a member of our privacy team reviews it. We will "
     "e-mail you as soon as it is sent, and it will appear on this page.",),
    denied=False,
)  # fmt: skip


def withheld(reason: str) -> Answer:
    """A person checking the answer before it was sent withdrew it: the consumer is told why, in their words."""
    sentence = f"When we checked the answer we had prepared before sending it, we found we could not send it: {reason}"
    return Answer("We could not send the answer we prepared", (sentence.rstrip(".") + ".",), denied=True)


def request_name(request_type: str) -> str:
    return REQUEST_NAMES[RequestType(request_type)]


def next_steps(request_type: str) -> str:
    return NEXT_STEPS[RequestType(request_type)]


def is_answered(status: str) -> bool:
    return status in ANSWERED


def pacific_date(moment: datetime | str) -> str:
    """The day in California, as people write it: "January 15, 2027"."""
    return long_date(datetime.fromisoformat(moment) if isinstance(moment, str) else moment)
