"""The console's words for the pipeline's codes: request types, channels, states, notices, the §7101 record's
fields. Pure."""

from __future__ import annotations

from typing import Any

from services.common.pacific import human_when

TYPES = {"know_categories": "know what categories are collected", "know_specific": "know the specific pieces",
         "delete": "delete", "correct": "correct", "opt_out": "opt out of sale and sharing",
         "limit": "limit the use of sensitive information", "opt_in": "opt back in"}  # fmt: skip
CHANNELS = {"web_form": "the web form", "api": "the API", "email": "e-mail", "phone": "the telephone line",
            "mail": "postal mail", "in_person": "a visit in person", "agent_portal": "the agent portal"}  # fmt: skip
STATUSES = {"received": "received", "acknowledged": "acknowledged, in progress", "completed": "answered",
            "denied": "denied"}  # fmt: skip
OUTCOMES = {"complied": "Complied", "complied_in_part": "Complied in part", "denied": "Denied"}
NOTICES = {"verification_code": "verification code", "acknowledgement": "acknowledgement", "extension": "extension",
           "response": "answer", "report_ready": "report-ready"}  # fmt: skip
NOTICE_STATES = {"pending": "being sent", "sent": "sent", "failed": "failed", "held": "held for review",
                 "withdrawn": "withdrawn by review"}  # fmt: skip
RECIPIENT_STATES = {"pending": "being sent", "delivered": "sent, awaiting its confirmation", "confirmed": "confirmed",
                    "failed": "failed", "manual": "waiting for a person to confirm (no endpoint)",
                    "not_notified": "not notified (§7022)"}  # fmt: skip
RECORD_FIELDS = (("Date received", "date_received"), ("Nature of the request", "nature"),
                 ("As the consumer asked", "requested_nature"), ("Manner", "manner"), ("Due", "due_at"),
                 ("Extended on", "extended_at"), ("Date of response", "date_of_response"),
                 ("Nature of the response", "nature_of_response"),
                 ("Basis for denial", "basis_for_denial"))  # fmt: skip
CODED = {"nature": TYPES, "requested_nature": TYPES, "manner": CHANNELS, "nature_of_response": OUTCOMES}
NOTHING = "not yet"


def record_rows(record: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The §7101 record as label and text, codes and instants in words (Pacific), "not yet" for what is not there."""
    if record is None:
        return []
    rows = []
    for label, key in RECORD_FIELDS:
        value = record.get(key)
        text = NOTHING if value in (None, "") else (human_when(str(value)) or str(value))
        rows.append((label, CODED.get(key, {}).get(text, text)))
    return rows


def page_words() -> dict[str, Any]:
    """What the request page's templates look codes up in."""
    return {"type_words": TYPES, "channel_words": CHANNELS, "status_words": STATUSES, "outcome_words": OUTCOMES,
            "notice_words": NOTICES, "notice_state_words": NOTICE_STATES,
            "recipient_words": RECIPIENT_STATES}  # fmt: skip
