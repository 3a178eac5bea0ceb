"""A subject's traces outside the app database: marketing list, session cache, access logs, service providers.

Pure functions of the subject (no I/O); timestamps for Redis, logs and providers are ISO-8601 UTC strings.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from devtools.demo.records import Emit, moment, plan_orders
from devtools.demo.subjects import Stream, Subject, record_salt, scramble
from devtools.demo.vocab import (
    APP_VERSIONS,
    CAMPAIGNS,
    END,
    EPOCH,
    MAIL_LISTS,
    MAIL_TEMPLATES,
    PAGES,
    PRODUCTS,
    RECENT,
    SHOP,
    SUBSCRIBE_SOURCES,
    UPSTREAMS,
)

LOG_FILES = ("access.log", "access.log.1", "access.log.2.gz")  # newest first, as logrotate names them
LOG_WINDOWS = (
    (datetime(2026, 11, 12), END),
    (datetime(2026, 11, 2), datetime(2026, 11, 12)),
    (RECENT, datetime(2026, 11, 2)),
)
RedisValue = dict[str, str] | str  # a hash, or a JSON string


def iso(moment_: datetime) -> str:
    return moment_.isoformat() + "Z"


def marketing_rows(subject: Subject, emit: Emit) -> None:
    if not subject.presence.marketing:
        return
    rng = subject.rng("marketing")
    subscribed = moment(rng, EPOCH, END - timedelta(days=30))
    emit(
        "subscribers",
        {
            "subscriber_id": subject.index + 1,
            "email": subject.email,
            "first_name": subject.first_name,
            "zip": subject.customer.postal_code,
            "source": rng.choice(SUBSCRIBE_SOURCES),
            "subscribed_at": subscribed,
        },
    )
    clicks = max(1, rng.randrange(4)) if subject.everywhere else rng.randrange(4)
    for k in range(clicks):
        campaign = rng.choice(CAMPAIGNS)
        emit(
            "campaign_clicks",
            {
                "click_id": subject.index * 4 + k + 1,
                "email": subject.email,
                "campaign": campaign,
                "clicked_at": moment(rng, subscribed),
                "ip": subject.ipv4[k % 2],
                # Email links that carry the address are a classic unmapped leak.
                "landing_url": f"{SHOP}/lp/{campaign}?utm_medium=email&e={subject.email}",
            },
        )


def session_entries(subject: Subject) -> list[tuple[str, RedisValue]]:
    """`session:{account_id}` (hash) and `device:{device_id}` (JSON) keys of a recently active subject."""
    if not subject.presence.sessions:
        return []
    rng = subject.rng("sessions")
    last_seen = moment(rng, RECENT)
    cart = [{"sku": product.sku, "qty": 1} for product in rng.sample(PRODUCTS, rng.randrange(3))]
    session: dict[str, str] = {
        "email": subject.email,
        "ip_address": subject.ipv4[0],
        "device_id": subject.device_ids[0],
        "last_seen": iso(last_seen),
        "cart": json.dumps(cart),
    }
    if cart or subject.everywhere:
        session["checkout_phone"] = subject.customer.phone
    entries: list[tuple[str, RedisValue]] = [(f"session:{subject.account_id}", session)]
    for device_id in subject.device_ids:
        device = {
            "device_id": device_id,
            "account_id": subject.account_id,
            "platform": subject.platform,
            "user_agent": subject.user_agent,
            "first_seen": iso(moment(rng, EPOCH, RECENT)),
            "last_seen": iso(last_seen),
            "app_version": rng.choice(APP_VERSIONS),
        }
        entries.append((f"device:{device_id}", json.dumps(device)))
    return entries


def log_lines(subject: Subject) -> list[tuple[int, str]]:
    """(file number in LOG_FILES, JSON line) pairs; every 10th subject has at least one line in each file."""
    if not subject.presence.logs:
        return []
    rng = subject.rng("logs")
    files = [0, 1, 2] if subject.everywhere else []
    files += [rng.randrange(3) for _ in range(1 + rng.randrange(4))]
    return [
        (number, _log_line(rng, subject, number, first=k < 3 and subject.everywhere)) for k, number in enumerate(files)
    ]


def _log_line(rng: Stream, subject: Subject, number: int, first: bool) -> str:
    signed_in = first or rng.random() < 0.5
    line: dict[str, object] = {"ts": iso(moment(rng, *LOG_WINDOWS[number])), "ip": subject.ipv4[0]}
    if rng.random() < 0.3:
        line["x_forwarded_for"] = subject.ipv4[1]
    line |= {
        "device_id": subject.device_ids[0],
        "account_id": subject.account_id if signed_in else None,
        "method": "POST" if rng.random() < 0.1 else "GET",
        "path": rng.choice(PAGES),
        "status": rng.choice((200, 200, 200, 304, 302, 404)),
        "user_agent": subject.user_agent,
        "request_id": _uuid(rng),
        "upstream": rng.choice(UPSTREAMS),
    }
    return json.dumps(line)


def _uuid(rng: Stream) -> str:
    bits = f"{rng.getrandbits(128):032x}"
    return f"{bits[:8]}-{bits[8:12]}-4{bits[13:16]}-a{bits[17:20]}-{bits[20:]}"


def mailer_rows(subject: Subject, emit: Emit) -> None:
    if not subject.presence.mailer:
        return
    rng = subject.rng("mailer")
    salt = record_salt(subject.seed)
    created = moment(rng, EPOCH, END - timedelta(days=60))
    sends = sorted(
        moment(rng, created) for _ in range(max(1, rng.randrange(4)) if subject.everywhere else rng.randrange(4))
    )
    lists = sorted(rng.sample(MAIL_LISTS, 1 + rng.randrange(len(MAIL_LISTS))))
    emit(
        "contacts",
        {
            "contact_id": f"ct_{scramble(subject.index, salt, 40):010x}",
            "email": subject.email,
            "name": subject.customer.full_name,
            "external_id": subject.account_id,
            "lists": ",".join(lists),
            "created_at": iso(created),
            "last_sent_at": iso(sends[-1]) if sends else None,
        },
    )
    for k, sent in enumerate(sends):
        opened = sent + timedelta(minutes=rng.randrange(5, 2000)) if rng.random() < 0.4 else None
        emit(
            "deliveries",
            {
                "message_id": f"msg_{scramble(subject.index * 4 + k, salt, 48):012x}",
                "email": subject.email,
                "template": rng.choice(MAIL_TEMPLATES),
                "sent_at": iso(sent),
                "opened_at": iso(opened) if opened else None,
            },
        )


def shipper_rows(subject: Subject, emit: Emit) -> None:
    """One shipment per shipped order; the carrier knows the merchant's account and order references."""
    if not subject.presence.shipper:
        return
    rng = subject.rng("shipper")
    salt = record_salt(subject.seed)
    place = subject.place
    for order in plan_orders(subject):
        if not order.shipped:
            continue
        shipped = order.placed_at + timedelta(hours=rng.randrange(12, 72))
        delivered = shipped + timedelta(hours=rng.randrange(30, 150)) if order.status == "delivered" else None
        emit(
            "shipments",
            {
                "shipment_id": f"shp_{scramble(order.order_id, salt, 48):012x}",
                "merchant_ref": subject.account_id,
                "order_ref": str(order.order_id),
                "recipient_name": subject.customer.full_name,
                "recipient_email": subject.email,
                "recipient_phone": subject.customer.phone,
                "street": subject.street,
                "city": place.city,
                "region": place.region,
                "postal_code": subject.customer.postal_code,
                "tracking_number": f"1Z{rng.getrandbits(64):016X}",
                "shipped_at": iso(shipped),
                "delivered_at": iso(delivered) if delivered else None,
            },
        )
