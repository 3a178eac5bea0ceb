"""Review before send (CCPA_REVIEW_BEFORE_SEND) as pure rules: which request types are reviewed, what becomes of an
answer that arrives for a reviewed request, and which decisions a review takes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.common.request_types import RequestType

MIN_REASON, MAX_REASON = 5, 500


class ReviewState(StrEnum):
    PENDING = "pending"  # not decided: the answer, once it is ready, waits
    APPROVED = "approved"  # sent
    DENIED = "denied"  # withdrawn: the consumer is told why


class Verdict(StrEnum):
    APPROVED = "approved"
    DENIED = "denied"


class Disposition(StrEnum):
    """What becomes of an answer's e-mail when it arrives."""

    SEND = "send"  # no review, or approved already
    HOLD = "hold"  # kept until a person decides
    DROP = "drop"  # the answer was withdrawn: nothing more goes out about it


@dataclass(frozen=True)
class Review:
    state: ReviewState
    answer_ready_at: datetime | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    reviewer: str | None = None


class ReviewRefused(Exception):
    """The decision cannot be taken now (409): the message says why, naming no identifier."""


class NotUnderReview(ReviewRefused):
    def __init__(self) -> None:
        super().__init__("this request's answer is not under review before it is sent")


class AnswerNotReady(ReviewRefused):
    def __init__(self) -> None:
        super().__init__("this request's answer is not ready yet: there is nothing to review")


class AlreadyDecided(ReviewRefused):
    def __init__(self, state: ReviewState) -> None:
        super().__init__(f"this request's answer was {state.value} already: a review is decided once")


class ReasonRequired(ValueError):
    def __init__(self) -> None:
        super().__init__(f"a denial needs a reason of {MIN_REASON} to {MAX_REASON} characters (told to the consumer)")


def parse_review_types(text: str) -> frozenset[RequestType]:
    """`know_specific, delete` -> those types; empty -> none; an unknown name is refused, naming it."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    known = {kind.value for kind in RequestType}
    for name in names:
        if name not in known:
            raise ValueError(f"CCPA_REVIEW_BEFORE_SEND: {name!r} is no request type; expected any of {sorted(known)}")
    return frozenset(RequestType(name) for name in names)


def disposition(review: Review | None) -> Disposition:
    if review is None or review.state is ReviewState.APPROVED:
        return Disposition.SEND
    return Disposition.HOLD if review.state is ReviewState.PENDING else Disposition.DROP


def is_held(review: Review | None) -> bool:
    """The answer is ready and waits for a person's decision."""
    return review is not None and review.state is ReviewState.PENDING and review.answer_ready_at is not None


def links_released(review: Review | None) -> bool:
    """The report's links may be handed out: no review, or an approved one."""
    return review is None or review.state is ReviewState.APPROVED


def check_reason(verdict: Verdict, reason: str | None) -> None:
    if verdict is Verdict.DENIED and not (reason and MIN_REASON <= len(reason.strip()) <= MAX_REASON):
        raise ReasonRequired


def decide(review: Review | None, verdict: Verdict, reason: str | None, reviewer: str, now: datetime) -> Review:
    """The review once decided, or why it cannot be: not under review, nothing ready yet, decided already."""
    check_reason(verdict, reason)
    if review is None:
        raise NotUnderReview
    if review.state is not ReviewState.PENDING:
        raise AlreadyDecided(review.state)
    if review.answer_ready_at is None:
        raise AnswerNotReady
    state = ReviewState.APPROVED if verdict is Verdict.APPROVED else ReviewState.DENIED
    told = reason.strip() if reason and reason.strip() else None
    return Review(state, review.answer_ready_at, now, told, reviewer)
