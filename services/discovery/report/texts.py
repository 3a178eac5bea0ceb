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


# The letter (HTML): the same findings in the words of a person writing to a person.
CATEGORY_PLAIN: dict[str, tuple[str, str]] = {
    "A": (
        "Identifiers",
        "Information that identifies you, such as your name, postal or e-mail address, phone "
        "number, account number, IP address or device identifiers.",
    ),
    "B": (
        "Customer records",
        "Information in our customer records, such as your name, address, phone number, "
        "payment card details or the messages you sent us.",
    ),
    "C": ("Protected characteristics", "Characteristics the law protects, such as your age or date of birth."),
    "D": ("Purchases", "What you bought or considered buying: orders, products, prices and delivery details."),
    "E": ("Biometric information", "Physical or behavioral traits that can identify you, such as a fingerprint."),
    "F": (
        "Internet and app activity",
        "How you used our website, apps and e-mails: pages you visited, links you "
        "clicked, when you signed in, and your browser and device.",
    ),
    "G": ("Location", "Where you or your device were, such as the city or state we worked out from your visit."),
    "H": ("Recordings and images", "Audio, video, photos or similar information, such as a recorded call."),
    "I": ("Work information", "Information about your job or profession."),
    "J": ("Education information", "Education records that are not publicly available."),
    "K": ("Inferences", "Conclusions we drew about you to build a profile, such as your likely interests."),
    "L": (
        "Sensitive personal information",
        "Information the law treats as sensitive and that we may use only for limited purposes. About you, we hold:",
    ),
}

PURPOSE_NAMES: dict[str, str] = {
    "provide_service": "To provide our products and services to you",
    "account_management": "To run your account",
    "account_security": "To keep your account secure",
    "order_fulfilment": "To process and deliver your orders",
    "order_fulfillment": "To process and deliver your orders",
    "payments": "To take your payments",
    "accounting": "For our accounting and tax records",
    "customer_support": "To help you when you contact us",
    "marketing": "To send you news and offers",
    "advertising": "To show you advertising",
    "analytics": "To understand how our website and apps are used",
    "fraud_prevention": "To prevent fraud",
    "identity_verification": "To confirm your identity",
    "security": "To keep our systems secure",
    "debugging": "To find and fix errors",
    "legal_compliance": "To meet our legal obligations",
    "research": "For research",
    "recruiting": "To consider your application for a job with us",
}

RELATION_PLAIN: dict[str, tuple[str, str]] = {
    "disclosed": (
        "Given to organizations that work for us",
        "We gave this information to service providers or "
        "contractors that do work for us, such as delivering your orders or sending our e-mails. A "
        "contract allows them to use it only for that work. This is not a sale.",
    ),
    "sold": (
        "Sold",
        "We gave this information to other companies in exchange for money or something else of value. "
        "California law calls that a sale. You can tell us to stop at any time.",
    ),
    "shared": (
        "Shared for advertising",
        "We made this information available to advertising companies so that they "
        "can show you ads based on what you do on other companies' websites and apps (California law calls "
        "this cross-context behavioral advertising). You can tell us to stop at any time.",
    ),
}

ROLE_PLAIN: dict[str, str] = {
    "service provider": "works for us under a contract",
    "contractor": "works for us under a contract",
    "third party": "another company, which decides for itself how to use it",
}

WITHHELD_TEXT = "Held, not shown for your security"
WITHHELD_PLAIN = (
    "We hold the information below, but we do not show it in this letter. If this letter were lost or read by "
    "someone else, it could be used to steal your identity or to get into your accounts, so the law (Cal. Code Regs. "
    "tit. 11, §7024(d)) does not allow us to send it. Where it appears below, it reads "
    f"\u201c{WITHHELD_TEXT}\u201d."
)

NOT_SEARCHED_PLAIN = "We did not search the records below. Each is listed with the reason."
NOT_RECEIVED: dict[str, str] = {
    "disclosed": "We did not give your personal information to organizations that work for us.",
    "sold": "We did not sell your personal information.",
    "shared": "We did not share your personal information for advertising.",
}
