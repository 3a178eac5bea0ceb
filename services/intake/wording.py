"""Words for people in the consumer e-mails and on the privacy center's pages: request types, answers and
denials in plain language, dates in Pacific time ("January 15, 2027")."""

from __future__ import annotations

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

DONE = {
    RequestType.KNOW_CATEGORIES: "We looked through our records and listed the kinds of personal information we hold "
    "about you, where it came from, why we use it and who we share it with.",
    RequestType.KNOW_SPECIFIC: "We gathered the personal information we hold about you into a report.",
    RequestType.DELETE: "We deleted your personal information from our systems and told the companies that work "
    "for us to delete it too, except what the law requires or allows us to keep.",
    RequestType.CORRECT: "We corrected your personal information as you asked.",
    RequestType.OPT_OUT: "We stopped selling and sharing your personal information, and told our partners to do "
    "the same.",
    RequestType.LIMIT: "We now use your sensitive personal information only for what the law allows.",
    RequestType.OPT_IN: "We recorded that you allow us again to sell or share your personal information.",
}

DENIALS = {
    "not_verified": "We could not confirm your identity from the information you gave us. If you would like to try "
    "again, please send a new request with details that match our records.",
    "not_made_by_consumer": "A request made by an authorized agent must include the consumer's signed permission, "
    "and we did not receive it.",
}
DENIED_OTHER = "We were not able to do what you asked."
DELETE_ALTERNATIVE = (
    "You can still ask us to stop selling or sharing your personal information: that needs no identity check."
)


def request_name(request_type: str) -> str:
    return REQUEST_NAMES[RequestType(request_type)]


def next_steps(request_type: str) -> str:
    return NEXT_STEPS[RequestType(request_type)]


def what_we_did(request_type: str) -> str:
    return DONE[RequestType(request_type)]


def denial_words(denial_code: str | None, request_type: str) -> str:
    """Why we could not act, in words; one message for "no record" and "too few matches" (reveals nothing)."""
    words = DENIALS.get(denial_code or "", DENIED_OTHER)
    if denial_code == "not_verified" and RequestType(request_type) is RequestType.DELETE:
        words += " " + DELETE_ALTERNATIVE
    return words


def pacific_date(moment: datetime | str) -> str:
    """The day in California, as people write it: "January 15, 2027"."""
    return long_date(datetime.fromisoformat(moment) if isinstance(moment, str) else moment)
