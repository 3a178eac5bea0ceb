"""Plain words for consumers: request types, statuses and dates in Pacific time (no engineering terms)."""

from __future__ import annotations

from services.common.pacific import long_date as long_date
from services.common.pacific import moment_text
from services.common.request_types import RequestType

REQUEST_TYPE_NAMES: dict[str, str] = {
    RequestType.KNOW_CATEGORIES: "Know what personal information we collect about you",
    RequestType.KNOW_SPECIFIC: "Get a copy of the personal information we hold about you",
    RequestType.DELETE: "Delete your personal information",
    RequestType.CORRECT: "Correct inaccurate personal information",
    RequestType.OPT_OUT: "Do not sell or share your personal information",
    RequestType.LIMIT: "Limit the use of your sensitive personal information",
    RequestType.OPT_IN: "Allow the sale or sharing of your personal information again",
}

# Short names, for a sentence ("your request to ...").
REQUEST_TYPE_VERBS: dict[str, str] = {
    RequestType.KNOW_CATEGORIES: "know what personal information we collect",
    RequestType.KNOW_SPECIFIC: "get a copy of your personal information",
    RequestType.DELETE: "delete your personal information",
    RequestType.CORRECT: "correct your personal information",
    RequestType.OPT_OUT: "opt out of the sale and sharing of your personal information",
    RequestType.LIMIT: "limit the use of your sensitive personal information",
    RequestType.OPT_IN: "opt back in to the sale and sharing of your personal information",
}


long_datetime = moment_text  # "January 15, 2027 at 2:05 PM PST"


# The sensitive personal information sub-categories (§1798.140(ae)) as a person reads them on a form.
SENSITIVE_LABELS: dict[str, str] = {
    "ssn_dl_state_id_passport": "Social Security, driver's license, state ID or passport numbers",
    "account_login_financial_credentials": "Account log-ins, and financial accounts or cards with their passwords",
    "precise_geolocation": "Your precise location",
    "racial_ethnic_religious_union": "Racial or ethnic origin, religious or philosophical beliefs, union membership",
    "citizenship_immigration": "Citizenship or immigration status",
    "mail_email_text_contents": "The contents of your mail, e-mail and text messages",
    "genetic": "Genetic data",
    "neural_data": "Neural data (information about your brain or nervous system activity)",
    "biometric_identification": "Biometric information used to identify you",
    "health": "Health information",
    "sex_life_orientation": "Sex life or sexual orientation",
}
