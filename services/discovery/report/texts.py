"""The plain-language words of the right-to-know report: section explanations, source, role and sub-category names."""

from __future__ import annotations

import re

SENSITIVE_NAMES: dict[str, str] = {
    "ssn_dl_state_id_passport": "Social Security, driver's license, state ID or passport number",
    "account_login_financial_credentials": "account log-in or financial account with its access credentials",
    "precise_geolocation": "precise geolocation",
    "racial_ethnic_religious_union": "racial or ethnic origin, religious or philosophical beliefs, union membership",
    "citizenship_immigration": "citizenship or immigration status",
    "mail_email_text_contents": "contents of mail, email or text messages",
    "genetic": "genetic data",
    "neural_data": "neural data",
    "biometric_identification": "biometric information processed to identify you",
    "health": "health information",
    "sex_life_orientation": "sex life or sexual orientation",
}

SOURCE_NAMES: dict[str, str] = {
    "consumer": "You, directly",
    "device": "Your device or browser, automatically",
    "service_provider": "Service providers working for us",
    "third_party": "Third parties",
    "inferred": "Our own inferences",
    "public_records": "Public records",
}

ROLE_NAMES: dict[str, str] = {
    "service_provider": "service provider",
    "contractor": "contractor",
    "third_party": "third party",
}

RELATION_NAMES: dict[str, str] = {
    "disclosed": "Disclosed for a business purpose to",
    "sold": "Sold to",
    "shared": "Shared for cross-context behavioral advertising with",
}

SECTIONS: dict[str, str] = {
    "categories": (
        "The kinds of personal information we hold about you, in the categories the CCPA uses (Cal. Civ. Code "
        "§1798.140(v)). Only categories in which we found information about you are listed."
    ),
    "sources": "Where the information about you came from, and which categories came from each source.",
    "purposes": "Why we collect and use the information (our business or commercial purposes), by category.",
    "recipients": (
        "The kinds of organizations we disclosed your information to for a business purpose, sold it to, or shared "
        "it with for cross-context behavioral advertising, and which categories each received."
    ),
    "searched": "The systems we searched for information about you, and whether we found any.",
    "not_searched": (
        "Records we did not search, and why (Cal. Code Regs. tit. 11, §7024(c)): they are not kept in a searchable "
        "form, are kept only for legal or compliance purposes, and are neither sold nor used commercially."
    ),
    "withheld": (
        "Information we hold but do not show, because disclosing it could put you at risk (Cal. Code Regs. tit. 11, "
        "§7024(d)). We tell you only that we hold it."
    ),
    "specific_pieces": "The specific pieces of personal information we hold about you, by system, collection, record.",
}

EMPTY: dict[str, str] = {
    "categories": "We hold no personal information about you in this period.",
    "sources": "None.",
    "purposes": "None.",
    "recipients": "We did not disclose, sell or share personal information about you.",
    "searched": "No systems were searched.",
    "not_searched": "We searched every system that may hold information about you.",
    "withheld": "Nothing is withheld.",
    "specific_pieces": "We hold no specific pieces of personal information about you in this period.",
}

WITHHELD_MARKER = "[withheld for your security, §7024(d)]"
CODE = re.compile(r"^[a-z0-9_]+$")


def humanise(code: str, names: dict[str, str] | None = None) -> str:
    """A known name, or a snake_case code turned into words; free text is kept as written."""
    if names and code in names:
        return names[code]
    if CODE.match(code):
        words = code.replace("_", " ")
        return words[:1].upper() + words[1:]
    return code


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {nouns or noun + 's'}"
