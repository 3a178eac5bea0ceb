"""Rows, keys and log lines about one demo subject, per store; pure functions of the subject (no I/O)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from devtools.demo.subjects import Stream, Subject
from devtools.demo.vocab import (
    APP_VERSIONS,
    CARD_RANGES,
    END,
    EPOCH,
    EVENT_TYPES,
    IMPORT_BATCHES,
    ORDER_STATUSES_NEW,
    ORDER_STATUSES_OLD,
    PAGE_TITLES,
    PAGES,
    PRODUCTS,
    REVEALING_EVERY,
    REVEALING_TITLES,
    SHOP,
    STREET_NAMES,
    STREET_SUFFIXES,
    TICKET_CHANNELS,
    TICKET_STATUSES,
    TICKET_TEMPLATES,
    Product,
)

Row = dict[str, Any]
Emit = Callable[[str, Row], None]  # (table, row)
CPRA_LOOKBACK = datetime(2022, 1, 1)
SHIPPING_DAYS = timedelta(days=21)
FULL_SPAN = (END - EPOCH).total_seconds()


def moment(rng: Stream, start: datetime = EPOCH, end: datetime = END) -> datetime:
    span = FULL_SPAN if start is EPOCH and end is END else (end - start).total_seconds()
    return start + timedelta(seconds=int(rng.random() * span))


def luhn_complete(partial: str) -> str:
    """Append the Luhn check digit to `partial`."""
    total = 0
    for position, char in enumerate(reversed(partial)):
        digit = int(char)
        if position % 2 == 0:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return partial + str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and luhn_complete(number[:-1]) == number


@dataclass(frozen=True, slots=True)
class Order:
    order_id: int
    placed_at: datetime
    status: str
    items: tuple[tuple[Product, int], ...]
    gift_recipient_email: str | None

    @property
    def total_cents(self) -> int:
        return sum(product.price_cents * quantity for product, quantity in self.items)

    @property
    def shipped(self) -> bool:
        return self.status in ("shipped", "delivered")


def plan_orders(subject: Subject) -> tuple[Order, ...]:
    """The subject's orders; the app database and the carrier (shipper) both derive from this one plan."""
    if not subject.presence.orders:
        return ()
    rng = subject.rng("orders")
    count = 1 + min(5, int(rng.expovariate(0.7)))
    if subject.everywhere:
        count = max(2, count)
    return tuple(_order(rng, subject, k) for k in range(count))


def _order(rng: Stream, subject: Subject, k: int) -> Order:
    # Every 10th subject has one order before the CPRA look-back date and a delivered one after it.
    if subject.everywhere and k < 2:
        placed = moment(rng, EPOCH, CPRA_LOOKBACK) if k == 0 else moment(rng, CPRA_LOOKBACK, END - SHIPPING_DAYS)
    else:
        placed = moment(rng)
    recent = placed > END - SHIPPING_DAYS
    status = (
        "delivered"
        if subject.everywhere and k == 1
        else rng.choice(ORDER_STATUSES_NEW if recent else ORDER_STATUSES_OLD)
    )
    lines = 1 + min(3, int(rng.expovariate(1.2)))
    items = tuple((rng.choice(PRODUCTS), 1 + int(rng.random() < 0.2)) for _ in range(lines))
    gift = rng.random() < 0.06 or (subject.everywhere and k == 1)
    giftee = f"{rng.choice(('sam', 'alex', 'jo', 'max'))}.{subject.index}.gift@example.org" if gift else None
    return Order(100_000 + subject.index * 8 + k, placed, status, items, giftee)


def app_rows(subject: Subject, emit: Emit) -> None:
    """Every app-db row of the subject, tables in dependency order."""
    rng = subject.rng("app")
    customer = subject.customer
    emit(
        "customers",
        {
            "account_id": customer.account_id,
            "email": customer.email,
            "phone": customer.phone,
            "full_name": customer.full_name,
            "postal_code": customer.postal_code,
            "date_of_birth": customer.date_of_birth,
            "do_not_sell": False,
            "do_not_share": False,
            "limit_sensitive": "",
        },
    )
    presence = subject.presence
    if presence.login:
        _login(rng, subject, emit)
    orders = plan_orders(subject)
    if orders:
        _addresses(rng, subject, emit)
        for order in orders:
            _order_rows(subject, order, emit)
    if presence.payment:
        for k in range(1 + int(rng.random() < 0.25)):
            _payment(rng, subject, k, emit)
    if presence.ticket:
        for k in range(1 + int(rng.random() < 0.3)):
            _ticket(rng, subject, orders, k, emit)
    if presence.analytics:
        _events(rng, subject, emit)
    if presence.identity_check:
        _identity_check(rng, subject, emit)
    if presence.legacy_import:
        _legacy_import(rng, subject, emit)


def _login(rng: Stream, subject: Subject, emit: Emit) -> None:
    salt, digest = rng.getrandbits(96), rng.getrandbits(256)
    emit(
        "account_logins",
        {
            "account_id": subject.account_id,
            "password_hash": f"pbkdf2_sha256$600000${salt:024x}${digest:064x}",
            "password_changed_at": moment(rng),
            "last_login_at": moment(rng, CPRA_LOOKBACK),
            "last_login_ip": subject.ipv4[0],
        },
    )


def _addresses(rng: Stream, subject: Subject, emit: Emit) -> None:
    place, postal = subject.place, subject.customer.postal_code
    streets = [subject.street]
    if rng.random() < 0.3:
        streets.append(f"{rng.randrange(10, 9990)} {rng.choice(STREET_NAMES)} {rng.choice(STREET_SUFFIXES)}")
    for k, street in enumerate(streets):
        emit(
            "addresses",
            {
                "address_id": subject.index * 4 + k + 1,
                "account_id": subject.account_id,
                "kind": "shipping" if k == 0 else "billing",
                "recipient_name": subject.customer.full_name,
                "street": street,
                "city": place.city,
                "region": place.region,
                "postal_code": postal,
                "country": "US",
                "created_at": moment(rng),
            },
        )


def _order_rows(subject: Subject, order: Order, emit: Emit) -> None:
    emit(
        "orders",
        {
            "order_id": order.order_id,
            "account_id": subject.account_id,
            "placed_at": order.placed_at,
            "status": order.status,
            "total_cents": order.total_cents,
            "shipping_address_id": subject.index * 4 + 1,
            "gift_recipient_email": order.gift_recipient_email,
        },
    )
    for j, (product, quantity) in enumerate(order.items):
        emit(
            "order_items",
            {
                "item_id": order.order_id * 4 + j,
                "order_id": order.order_id,
                "sku": product.sku,
                "product_name": product.name,
                "quantity": quantity,
                "unit_price_cents": product.price_cents,
            },
        )


def card_number(rng: Stream) -> tuple[str, str]:
    """(brand, number): a Luhn-valid number inside a card network's published test range."""
    brand, prefix, length = rng.choice(CARD_RANGES)
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    return brand, luhn_complete(body)


def _payment(rng: Stream, subject: Subject, k: int, emit: Emit) -> None:
    brand, number = card_number(rng)
    added = moment(rng)
    emit(
        "payment_methods",
        {
            "payment_method_id": subject.index * 2 + k + 1,
            "account_id": subject.account_id,
            "brand": brand,
            "card_number": number,
            "last4": number[-4:],
            "expires": f"{rng.randrange(1, 13):02d}/{(added.year + rng.randrange(2, 6)) % 100:02d}",
            "billing_postal_code": subject.customer.postal_code,
            "created_at": added,
        },
    )


def _ticket(rng: Stream, subject: Subject, orders: tuple[Order, ...], k: int, emit: Emit) -> None:
    title, template = rng.choice(TICKET_TEMPLATES)
    phone = subject.national_phone if rng.random() < 0.5 else subject.customer.phone
    order = str(orders[0].order_id) if orders else "(no number)"
    channel = rng.choice(TICKET_CHANNELS)
    emit(
        "support_tickets",
        {
            "ticket_id": subject.index * 4 + k + 1,
            "account_id": subject.account_id,
            "opened_at": moment(rng),
            "channel": channel,
            "subject_line": title,
            "body": template.format(order=order, email=subject.email, phone=phone),
            "status": rng.choice(TICKET_STATUSES),
            "callback_number": subject.national_phone if channel == "phone" or k == 0 else None,
        },
    )


def _events(rng: Stream, subject: Subject, emit: Emit) -> None:
    count = 3 + rng.randrange(6) if subject.everywhere else 1 + rng.randrange(8)
    place = subject.place
    for k in range(count):
        # Before sign-in the event carries only the device and cookie; the walk reaches it through those.
        signed_in = k == 0 or (k > 1 and rng.random() < 0.6)
        mobile = rng.random() < 0.2
        latitude = round(place.latitude + rng.uniform(-0.02, 0.02), 5)
        longitude = round(place.longitude + rng.uniform(-0.02, 0.02), 5)
        event_id = subject.index * 16 + k + 1
        emit(
            "analytics_events",
            {
                "event_id": event_id,
                "occurred_at": moment(rng),
                "event_type": rng.choice(EVENT_TYPES),
                "account_id": subject.account_id if signed_in else None,
                "device_id": subject.device_ids[k % len(subject.device_ids)],
                "cookie_id": subject.cookie_id,
                "ip_address": subject.ipv6 if mobile else subject.ipv4[k % 2],
                "user_agent": subject.user_agent,
                "page_url": SHOP + (page := rng.choice(PAGES)),  # drawn in its old place: the stream stays the same
                "page_title": page_title(event_id, page),
                "city": place.city,
                "region": place.region,
                "latitude": latitude,
                "longitude": longitude,
                "app_version": rng.choice(APP_VERSIONS),
                "geo_hint": f"{latitude:.5f},{longitude:.5f}" if rng.random() < 0.5 or k == 0 else None,
            },
        )


def page_title(event_id: int, page: str) -> str:
    """The title the tag reported: the page's own, or for about one event in 25 a journal article or search that
    reveals a health condition or orientation. Drawn from the event id, not the subject's random stream, so every
    other generated value stays what it was."""
    spread = (event_id * 2_654_435_761) % 2**32  # Knuth's multiplicative hash: event ids spread evenly
    if spread % REVEALING_EVERY == 0:
        return REVEALING_TITLES[spread // REVEALING_EVERY % len(REVEALING_TITLES)]
    return PAGE_TITLES[page]


def _identity_check(rng: Stream, subject: Subject, emit: Emit) -> None:
    document = rng.choice(("ssn", "drivers_license", "passport"))
    number = {
        "ssn": None,
        "drivers_license": f"{rng.choice('ABDFGNY')}{rng.randrange(10**7):07d}",
        "passport": f"{rng.randrange(10**8, 10**9)}",
    }[document]
    emit(
        "identity_checks",
        {
            "check_id": subject.index * 2 + 1,
            "account_id": subject.account_id,
            "checked_at": moment(rng),
            "document_type": document,
            "ssn": subject.ssn,
            "id_number": number,
            "result": "pass" if rng.random() < 0.93 else "fail",
        },
    )


def _legacy_import(rng: Stream, subject: Subject, emit: Emit) -> None:
    born = subject.customer.date_of_birth
    emit(
        "legacy_imports",
        {
            "import_id": subject.index + 1,
            "batch": rng.choice(IMPORT_BATCHES),
            "imported_at": moment(rng, EPOCH, CPRA_LOOKBACK),
            "contact_name": subject.customer.full_name,
            "email": subject.email,
            "home_phone": subject.national_phone,
            "tax_id": subject.ssn,
            "birth_date": f"{born[5:7]}/{born[8:10]}/{born[:4]}",
            "street_address": subject.street_address,
        },
    )
