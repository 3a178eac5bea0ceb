"""The words the console's pages use for the pipeline's names: request types, channels, a deadline's state, the
days left, consent sources and changes. One place, so every page says the same."""

from __future__ import annotations

from typing import Any

REQUEST_TYPES = {
    "know_categories": "Know (categories)",
    "know_specific": "Know (specific pieces)",
    "delete": "Delete",
    "correct": "Correct",
    "opt_out": "Opt out of sale/sharing",
    "limit": "Limit sensitive data",
    "opt_in": "Opt back in",
}
# The §7102 table's lines: request type families
FAMILIES = {"know": "Know", "delete": "Delete", "correct": "Correct", "opt_out": "Opt out", "limit": "Limit",
            "opt_out_signal": "Opt out by signal (GPC)"}  # fmt: skip
CHANNELS = {
    "web_form": "Web form",
    "api": "API",
    "email": "E-mail",
    "phone": "Phone",
    "mail": "Mail",
    "in_person": "In person",
    "agent_portal": "Agent portal",
}
STATES = {
    "on_time": "On time",
    "due_soon": "Due soon",
    "overdue": "Overdue",
    "awaiting_review": "Awaiting review",
    "answered": "Answered",
    "answered_late": "Answered late",
}
SOURCES = {
    "gpc": "Global Privacy Control signal",
    "form": "The consumer's request",
    "agent": "An authorized agent's request",
    "product_event": "A choice in one of our products",
    "usp": "A US Privacy string",
    "gpp": "A Global Privacy Platform string",
    "parent": "A parent's consent",
    "minor_default": "The default for a minor",
    "none": "Nothing recorded",
}


def request_type(name: str) -> str:
    return REQUEST_TYPES.get(name, FAMILIES.get(name, name.replace("_", " ").capitalize()))


def channel(name: str) -> str:
    return CHANNELS.get(name, name.replace("_", " ").capitalize() if name else "Not recorded")


def state(name: str) -> str:
    return STATES.get(name, name.replace("_", " ").capitalize())


def days_left(days: int | None, state_name: str) -> str:
    """'3 days overdue', 'Due today', '12 days left'; a dash once answered."""
    if state_name in {"answered", "answered_late"} or days is None:
        return "—"
    if days < 0:
        return f"{-days} day{'s' if days != -1 else ''} overdue"
    if days == 0:
        return "Due today"
    return f"{days} day{'s' if days != 1 else ''} left"


def source(name: str | None) -> str:
    return SOURCES.get(name or "none", (name or "").replace("_", " ").capitalize())


def consent_change(details: dict[str, Any]) -> str:
    """What one ConsentChanged said, in words: 'Opted out of sale; opted out of sharing'."""
    said = []
    for field, what in (("sale_opt_out", "sale"), ("share_opt_out", "sharing")):
        value = details.get(field)
        if value is True:
            said.append(f"opted out of {what}")
        elif value is False:
            said.append(f"opted back in to {what}")
    limits = details.get("limit_sensitive") or []
    if limits:
        said.append("limited the use of " + ", ".join(str(item).replace("_", " ") for item in limits))
    if details.get("financial_incentive"):
        said.append(f"financial incentive: {details['financial_incentive']}")
    text = "; ".join(said) or "no change to sale, sharing or limits"
    return text[0].upper() + text[1:]
