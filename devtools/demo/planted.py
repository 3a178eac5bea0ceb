"""Ground truth for the PI scanner: personal information deliberately left out of devtools/demo/datamap.yaml,
and look-alike columns that are not personal information.

Every column, hash field, JSON key or log field the generator writes is either described by the data map,
in PLANTED_PI, or in DECOYS (tests/integration/test_demo_company.py holds the generator to that).
"""

from __future__ import annotations

# What a detector should call each planted value (the names of services/discovery/scanner/detectors.py's Kind).
DETECTOR_KINDS = (
    "email",
    "phone",
    "ssn",
    "birth_date",
    "postal_address",
    "person_name",
    "ip_address",
    "precise_geolocation",
)

# (store, collection, field, detector kind): personal information the data map does not describe.
PLANTED_PI: frozenset[tuple[str, str, str, str]] = frozenset(
    {
        ("app-db", "orders", "gift_recipient_email", "email"),
        ("app-db", "support_tickets", "callback_number", "phone"),
        ("app-db", "analytics_events", "geo_hint", "precise_geolocation"),
        ("app-db", "legacy_imports", "contact_name", "person_name"),
        ("app-db", "legacy_imports", "email", "email"),
        ("app-db", "legacy_imports", "home_phone", "phone"),
        ("app-db", "legacy_imports", "tax_id", "ssn"),
        ("app-db", "legacy_imports", "birth_date", "birth_date"),
        ("app-db", "legacy_imports", "street_address", "postal_address"),
        ("marketing-db", "campaign_clicks", "landing_url", "email"),
        ("sessions", "sessions", "checkout_phone", "phone"),
        ("web-logs", "access", "x_forwarded_for", "ip_address"),
    }
)

# (store, collection, field): values shaped like identifiers (dotted quads, UUIDs, codes) that are not PI.
DECOYS: frozenset[tuple[str, str, str]] = frozenset(
    {
        ("app-db", "orders", "status"),
        ("app-db", "orders", "total_cents"),
        ("app-db", "order_items", "sku"),
        ("app-db", "support_tickets", "status"),
        ("app-db", "analytics_events", "app_version"),  # 5.2.10.3: a version, not an IPv4 address
        ("app-db", "legacy_imports", "import_id"),
        ("app-db", "legacy_imports", "batch"),
        ("app-db", "legacy_imports", "imported_at"),
        ("marketing-db", "campaign_clicks", "campaign"),
        ("sessions", "devices", "app_version"),
        ("web-logs", "access", "request_id"),  # a UUID like the device ids, but per request
        ("web-logs", "access", "upstream"),  # 10.0.3.7:8080, the company's own application server
    }
)

# (store, collection, field, sensitive category): mapped fields shared with the ad network whose values reveal
# sensitive personal information (Healthline 2025), for the scanner's content check: a few page titles are journal
# articles and searches on health matters and on coming out (devtools/demo/vocab.py REVEALING_TITLES).
REVEALING_SHARED: frozenset[tuple[str, str, str, str]] = frozenset(
    {
        ("app-db", "analytics_events", "page_title", "health"),
        ("app-db", "analytics_events", "page_title", "sex_life_orientation"),
    }
)

# Tables or collections that the data map leaves out entirely.
UNMAPPED_COLLECTIONS: frozenset[tuple[str, str]] = frozenset({("app-db", "legacy_imports")})


def planted_fields(store: str, collection: str) -> set[str]:
    return {field for s, c, field, _kind in PLANTED_PI if (s, c) == (store, collection)}


def decoy_fields(store: str, collection: str) -> set[str]:
    return {field for s, c, field in DECOYS if (s, c) == (store, collection)}
