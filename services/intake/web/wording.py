"""What the status page and the choices page tell a person, as pure functions: the stage as steps, the answer in
sentences (from the response outcome and denial code, never the services' own strings), the current choices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from services.common.request_types import RequestType

ANSWERED = frozenset({"completed", "denied"})
StepState = Literal["done", "current", "upcoming"]


@dataclass(frozen=True)
class Step:
    name: str
    state: StepState


@dataclass(frozen=True)
class Answer:
    headline: str
    sentences: tuple[str, ...]
    denied: bool


def is_answered(status: str) -> bool:
    return status in ANSWERED


def steps(request_type: str, status: str) -> list[Step]:
    """Received, then the work (identity checked and the request worked on), then answered."""
    family, answered = RequestType(request_type).is_opt_out_family, is_answered(status)
    working = {(True, False): "We are applying your choice", (True, True): "We applied your choice",
               (False, False): "We checked your identity and are working on it",
               (False, True): "We checked your identity and worked on it"}[(family, answered)]  # fmt: skip
    names = ("We received your request", working, "Done" if family else "We answered")
    states: tuple[StepState, ...] = ("done", "done", "done") if answered else ("done", "current", "upcoming")
    return [Step(name, state) for name, state in zip(names, states, strict=True)]


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


@dataclass(frozen=True)
class ChoiceState:
    """This browser's current choices, in words."""

    opted_out: bool
    limited: tuple[str, ...]
    sentences: tuple[str, ...]
    allowed_by_choice: bool  # a choice is on record and it allows sale or sharing (an opt-in, not "nothing yet")


def choice_state(lookup: Mapping[str, Any], sensitive_labels: Mapping[str, str]) -> ChoiceState:
    """From the consent look-up (the strictest of this browser's and the known consumer's records)."""
    opted_out = bool(lookup["sale_opt_out"] and lookup["share_opt_out"])
    partly = bool(lookup["sale_opt_out"] or lookup["share_opt_out"])
    limited = tuple(sorted(lookup.get("limit_sensitive") or ()))
    sentences = [
        "You have opted out: we do not sell or share your personal information."
        if opted_out
        else "You have opted out of part of it." if partly
        else "You have not opted out of the sale or sharing of your personal information."
    ]  # fmt: skip
    if limited:
        names = ", ".join(sensitive_labels.get(name, name.replace("_", " ")).lower() for name in limited)
        sentences.append(f"You have limited how we use your sensitive personal information: {names}.")
    else:
        sentences.append("You have not limited how we use your sensitive personal information.")
    recorded = any(bool((lookup.get(part) or {}).get("known")) for part in ("consumer", "device"))
    return ChoiceState(opted_out, limited, tuple(sentences), allowed_by_choice=recorded and not partly)
