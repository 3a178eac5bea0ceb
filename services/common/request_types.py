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
