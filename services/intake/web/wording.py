"""What the status page and the choices page tell a person, as pure functions: the stage as steps and the current
choices (the answer's sentences, shared with the e-mails, are in services/intake/wording.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from services.common.request_types import RequestType
from services.intake.wording import is_answered

StepState = Literal["done", "current", "upcoming"]


@dataclass(frozen=True)
class Step:
    name: str
    state: StepState


def steps(request_type: str, status: str, held: bool = False) -> list[Step]:
    """Received, then the work (identity checked and the request worked on), then answered; `held`: the answer is
    ready and a person reviews it before it is sent."""
    if held:
        names = ("We received your request", "We checked your identity and worked on it",
                 "We are reviewing our answer before we send it")  # fmt: skip
        held_states: tuple[StepState, ...] = ("done", "done", "current")
        return [Step(name, state) for name, state in zip(names, held_states, strict=True)]
    family, answered = RequestType(request_type).is_opt_out_family, is_answered(status)
    working = {(True, False): "We are applying your choice", (True, True): "We applied your choice",
               (False, False): "We checked your identity and are working on it",
               (False, True): "We checked your identity and worked on it"}[(family, answered)]  # fmt: skip
    names = ("We received your request", working, "Done" if family else "We answered")
    states: tuple[StepState, ...] = ("done", "done", "done") if answered else ("done", "current", "upcoming")
    return [Step(name, state) for name, state in zip(names, states, strict=True)]


@dataclass(frozen=True)
class ChoiceState:
    """This browser's current choices, in words."""

    opted_out: bool
    limited: tuple[str, ...]
    sentences: tuple[str, ...]
    allowed_by_choice: bool  # a choice is on record and it allows sale or sharing (an opt-in, not "nothing yet")
    confirmation: str | None = None  # §7025(c)(6): "Opt-Out Request Honored" once an opt-out is processed


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
    confirmation = str(lookup["confirmation"]) if partly and lookup.get("confirmation") else None
    return ChoiceState(opted_out, limited, tuple(sentences), allowed_by_choice=recorded and not partly,
                       confirmation=confirmation)  # fmt: skip
