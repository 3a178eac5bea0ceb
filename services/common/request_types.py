"""The consumer request types every service shares, with the clock family each one belongs to."""

from enum import StrEnum


class RequestType(StrEnum):
    KNOW_CATEGORIES = "know_categories"
    KNOW_SPECIFIC = "know_specific"
    DELETE = "delete"
    CORRECT = "correct"
    OPT_OUT = "opt_out"
    LIMIT = "limit"
    OPT_IN = "opt_in"

    @property
    def needs_response_clock(self) -> bool:
        """Know, delete and correct run the acknowledge/45-day respond clock (Regs §7021)."""
        return self in _RESPONSE_CLOCK_TYPES

    @property
    def is_opt_out_family(self) -> bool:
        """Opt-out, limit and opt-in are never verified (§7060(b)) and run on business days."""
        return self in _OPT_OUT_FAMILY


_RESPONSE_CLOCK_TYPES = frozenset(
    {RequestType.KNOW_CATEGORIES, RequestType.KNOW_SPECIFIC, RequestType.DELETE, RequestType.CORRECT}
)
_OPT_OUT_FAMILY = frozenset({RequestType.OPT_OUT, RequestType.LIMIT, RequestType.OPT_IN})


class RequestDecision(StrEnum):
    """What intake decided about a request (verification, an agent's permission): acted on, or denied."""

    ACCEPTED = "accepted"
    DENIED = "denied"


class ActingService(StrEnum):
    """The services that act on consumer requests; the others (intake, audit) only record or answer them."""

    DISCOVERY = "discovery"
    DELETION = "deletion"
    OPTOUT = "optout"


# Who acts on an accepted request of each type: the one place this rule lives (intake writes it on the event).
ACTING_SERVICES: dict[RequestType, frozenset[ActingService]] = {
    RequestType.KNOW_CATEGORIES: frozenset({ActingService.DISCOVERY}),
    RequestType.KNOW_SPECIFIC: frozenset({ActingService.DISCOVERY}),
    RequestType.DELETE: frozenset({ActingService.DISCOVERY, ActingService.DELETION}),
    RequestType.CORRECT: frozenset({ActingService.DISCOVERY, ActingService.DELETION}),
    RequestType.OPT_OUT: frozenset({ActingService.OPTOUT}),
    RequestType.LIMIT: frozenset({ActingService.OPTOUT}),
    RequestType.OPT_IN: frozenset({ActingService.OPTOUT}),
}


def acting_services(request_type: RequestType, decision: RequestDecision) -> tuple[ActingService, ...]:
    """The services that act on a request of this type once decided, sorted; none act on a denied request."""
    if decision is RequestDecision.DENIED:
        return ()
    return tuple(sorted(ACTING_SERVICES[request_type]))
