"""A know-specific report over the demo company's data map with a record in most collections, and the letterhead
its HTML letter is signed with: what the letter tests (unit render, browser axe check) read."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from services.common.datamap import DataMap, load_datamap
from services.common.stores.base import FoundRecord
from services.discovery.report import Letterhead, Report, ReportRequest, StoreOutcome, build_report

DATAMAP = Path(__file__).resolve().parents[1] / "devtools" / "demo" / "datamap.yaml"
ENV = {
    "DEMO_APP_DB_URL": "sqlite://",
    "DEMO_MARKETING_DB_URL": "sqlite://",
    "DEMO_REDIS_URL": "redis://127.0.0.1:1",
    "DEMO_LOG_DIR": "/nonexistent",
    "DEMO_MAILER_URL": "http://127.0.0.1:1",
    "DEMO_SHIPPER_URL": "http://127.0.0.1:1",
}
LETTERHEAD = Letterhead(
    "Juniper & Finch Home Goods, Inc.",
    "privacy@juniperfinch.example",
    "1-800-555-0142",
    "200 Market Street, Sacramento, CA 95814",
    "https://shop.juniperfinch.example/privacy/",
)
EMAIL = "maya.lopez@example.com"
ACCOUNT = "acct-70211"
SSN = "521-44-9087"
CARD = "4111111111111111"
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$5eG1Hc0f3b1b2f9d4f2a8e7c6b5a4d3c"
RECEIVED = datetime(2026, 3, 3, 22, 5, tzinfo=UTC)  # 2:05 PM PST
GENERATED = datetime(2026, 3, 20, 17, 30, tzinfo=UTC)  # 10:30 AM PDT
SEARCHED = ("app-db", "marketing-db", "sessions", "web-logs", "mailer", "shipper")


def demo_datamap() -> DataMap:
    return load_datamap(DATAMAP, ENV)


def _at(month: int, day: int, hour: int, year: int = 2025) -> datetime:
    return datetime(year, month, day, hour, 12, tzinfo=UTC)


def records() -> list[FoundRecord]:
    def record(store: str, collection: str, locator: str, values: dict[str, object],
               at: datetime | None = None) -> FoundRecord:  # fmt: skip
        return FoundRecord(store, collection, locator, values, at)

    order_at, ticket_at, visit_at = _at(11, 28, 19), _at(12, 2, 16), _at(12, 3, 4)
    return [
        record("app-db", "customers", f"account_id={ACCOUNT}", {"account_id": ACCOUNT, "email": EMAIL,
               "phone": "+1 415 555 0123", "full_name": "Maya Lopez", "postal_code": "94110",
               "date_of_birth": "1988-07-14", "do_not_sell": False, "do_not_share": True}),
        record("app-db", "account_logins", f"account_id={ACCOUNT}", {"account_id": ACCOUNT,
               "password_hash": PASSWORD_HASH, "last_login_at": visit_at.isoformat(), "last_login_ip": "203.0.113.7"},
               visit_at),
        record("app-db", "orders", "order_id=JF-100482", {"order_id": "JF-100482", "account_id": ACCOUNT,
               "placed_at": order_at.isoformat()}, order_at),
        record("app-db", "order_items", "item_id=88121", {"order_id": "JF-100482",
               "product_name": "Linen duvet cover, queen", "quantity": 1, "unit_price_cents": 14900}),
        record("app-db", "payment_methods", "payment_method_id=pm_3", {"account_id": ACCOUNT, "brand": "Visa",
               "card_number": CARD, "last4": "1111", "expires": "2028-04"}, _at(6, 1, 18)),
        record("app-db", "support_tickets", "ticket_id=T-5521", {"account_id": ACCOUNT,
               "opened_at": ticket_at.isoformat(), "channel": "email", "subject_line": "Duvet arrived torn",
               "body": f"Hi, my order JF-100482 arrived torn. My SSN is {SSN} if you need it."}, ticket_at),
        record("app-db", "analytics_events", "event_id=ev-1", {"occurred_at": visit_at.isoformat(),
               "event_type": "product_view", "account_id": ACCOUNT, "device_id": "dev-7f3a", "ip_address":
               "203.0.113.7", "page_url": "https://shop.juniperfinch.example/linen", "city": "San Francisco",
               "region": "CA", "latitude": 37.7599, "longitude": -122.4148}, visit_at),
        record("app-db", "identity_checks", "check_id=ic-9", {"account_id": ACCOUNT, "checked_at":
               _at(11, 28, 19).isoformat(), "document_type": "passport", "ssn": SSN, "result": "passed"},
               _at(11, 28, 19)),
        record("marketing-db", "subscribers", "subscriber_id=s-4", {"email": EMAIL, "first_name": "Maya",
               "zip": "94110", "source": "checkout", "subscribed_at": _at(3, 9, 20).isoformat()}, _at(3, 9, 20)),
        record("web-logs", "access", "access.log.2.gz:1042", {"ts": visit_at.isoformat(), "ip": "203.0.113.7",
               "account_id": ACCOUNT, "method": "GET", "path": "/linen", "status": 200}, visit_at),
        record("mailer", "deliveries", "message_id=m-77", {"email": EMAIL, "template": "order_shipped",
               "sent_at": _at(11, 29, 15).isoformat()}, _at(11, 29, 15)),
        record("shipper", "shipments", "shipment_id=sh-2", {"order_ref": "JF-100482", "recipient_name":
               "Maya Lopez", "city": "San Francisco", "tracking_number": "1Z999AA10123456784",
               "delivered_at": _at(12, 1, 21).isoformat()}, _at(12, 1, 21)),
    ]  # fmt: skip


def demo_report(request_type: str = "know_specific") -> Report:
    request = ReportRequest("req-7Q2M9", request_type, RECEIVED, GENERATED)
    outcomes = {store: StoreOutcome("found") for store in SEARCHED}
    return build_report(demo_datamap(), records(), request, outcomes)
