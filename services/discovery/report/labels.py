"""Human words for what the data map names in code: field labels, record titles, and the groups a letter shows.

Pure: derived only from what the data map and the report already carry (store, collection and field names, labels,
categories), so an operator's map needs no extra annotation for the letter to read well.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

ACRONYMS = {"id": "ID", "ip": "IP", "url": "URL", "zip": "ZIP", "crm": "CRM", "sms": "SMS", "api": "API",
            "ssn": "SSN", "utm": "UTM", "os": "OS", "http": "HTTP", "dob": "date of birth", "sku": "SKU",
            "qty": "quantity"}  # fmt: skip

FIELD_LABELS: dict[str, str] = {
    "email": "E-mail address",
    "email_address": "E-mail address",
    "phone": "Phone number",
    "phone_number": "Phone number",
    "full_name": "Name",
    "name": "Name",
    "first_name": "First name",
    "last_name": "Last name",
    "account_id": "Account number",
    "customer_id": "Customer number",
    "user_id": "User number",
    "order_id": "Order number",
    "created_at": "Created",
    "updated_at": "Last updated",
    "deleted_at": "Deleted",
    "occurred_at": "When it happened",
    "ip": "IP address",
    "ip_address": "IP address",
    "user_agent": "Browser and operating system",
    "device_id": "Device identifier",
    "cookie_id": "Cookie identifier",
    "postal_code": "Postal code",
    "zip": "ZIP code",
    "dob": "Date of birth",
    "date_of_birth": "Date of birth",
    "url": "Web address",
    "page_url": "Page visited",
}

RECORD_TITLES: dict[str, str] = {
    "customers": "Your account details",
    "accounts": "Your account details",
    "users": "Your account details",
    "profiles": "Your profile",
    "account_logins": "Signing in",
    "addresses": "Address",
    "orders": "Order",
    "order_items": "Item ordered",
    "payment_methods": "Saved payment card",
    "support_tickets": "Support request",
    "analytics_events": "Visit or action on our website or app",
    "page_views": "Page viewed",
    "identity_checks": "Identity check",
    "subscribers": "Newsletter subscription",
    "campaign_clicks": "Link clicked in one of our e-mails",
    "deliveries": "E-mail sent to you",
    "contacts": "Contact details",
    "shipments": "Shipment",
    "sessions": "Signed-in session",
    "devices": "Device you used",
    "access": "Request to our website",
    "job_applications": "Job application",
}


@dataclass(frozen=True)
class Group:
    """A part of the letter's specific pieces: what the records are about, in the consumer's words."""

    key: str
    title: str
    words: frozenset[str]  # name words that put a store or collection here
    categories: frozenset[str] = frozenset()  # else: the group of records mostly in these categories


def _group(key: str, title: str, names: str, categories: str = "") -> Group:
    return Group(key, title, frozenset(names.split()), frozenset(categories.split()))


# In priority order: a support ticket about an order is a support request; "Other" takes what nothing claims.
GROUPS: tuple[Group, ...] = (
    _group("applications", "Your job applications",
           "job jobs application applications applicant applicants candidate candidates recruiting hiring", "I"),
    _group("support", "Your support requests", "support ticket tickets case cases complaint complaints chat chats"),
    _group("marketing", "Our e-mails and newsletters to you",
           "marketing newsletter newsletters subscriber subscribers campaign campaigns mailer mailing mailings"),
    _group("payments", "Your payment details", "payment payments card cards billing wallet"),
    _group("orders", "Your orders",
           "order orders item items purchase purchases shipment shipments shipper cart carts invoice invoices", "D"),
    _group("activity", "Your activity on our website and apps",
           "event events analytics log logs access page pages view views click clicks session sessions device "
           "devices visit visits web tracking", "F G"),
    _group("account", "Your account",
           "customer customers account accounts user users profile profiles login logins address addresses "
           "identity member members crm", "A C"),
)  # fmt: skip
OTHER = Group("other", "Other information we hold", frozenset())
GROUP_ORDER = ("account", "applications", "orders", "payments", "support", "marketing", "activity", "other")


def name_words(code: str) -> list[str]:
    """snake_case, kebab-case, dotted and camelCase names as lower-case words: orderItems → order, items."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", code)
    return [word.lower() for word in re.split(r"[\s_.\-/:]+", spaced) if word]


def words(code: str) -> str:
    """A code name as a phrase, acronyms kept: last_login_ip → Last login IP."""
    phrase = " ".join(ACRONYMS.get(word, word) for word in name_words(code))
    return phrase[:1].upper() + phrase[1:]


def field_label(field: str, label: str) -> str:
    """The data map's own label when it wrote one, else a well-known name's label, else the name in words."""
    if label and label != field.replace("_", " "):
        return label[:1].upper() + label[1:]
    return FIELD_LABELS.get(field) or FIELD_LABELS.get("_".join(name_words(field))) or words(field)


def record_title(collection: str) -> str:
    """What one record of a collection is, in the singular: orders → Order, support_tickets → Support request."""
    key = "_".join(name_words(collection))
    if key in RECORD_TITLES:
        return RECORD_TITLES[key]
    phrase = words(collection)
    return phrase[:-1] if phrase.endswith("s") and not phrase.endswith("ss") else phrase


def group_of(store: str, collection: str, categories: Iterable[str | None] = ()) -> Group:
    """The collection's own name decides first, then its store's name, then the categories most of it holds."""
    for name in (collection, store):
        found = set(name_words(name))
        group = next((g for g in GROUPS if g.words & found), None)
        if group is not None:
            return group
    counted = [code for code in categories if code]
    if counted:
        common = max(sorted(set(counted)), key=counted.count)
        return next((g for g in GROUPS if common in g.categories), OTHER)
    return OTHER


def group_title(key: str) -> str:
    return next((g.title for g in (*GROUPS, OTHER) if g.key == key), OTHER.title)
