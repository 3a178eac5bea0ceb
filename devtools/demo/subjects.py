"""Demo subjects: each customer of devtools/demo/company.py with its devices, addresses and where it appears.

Everything about subject i derives from (seed, i) alone, so subject i is the same whatever the company's size.
Every 10th subject (index % 10 == 0) appears in every store and collection of the data map.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from ipaddress import IPv4Address
from typing import TypeVar

import sqlalchemy as sa

from devtools.demo import company
from devtools.demo.vocab import PLACES, PLATFORMS, STREET_NAMES, STREET_SUFFIXES, USER_AGENTS, Place

CGNAT = int(IPv4Address("100.64.0.0"))  # subjects' IPv4 addresses: unique up to 2**20 subjects
Item = TypeVar("Item")


class Stream(random.Random):
    """A seeded random stream whose choice/randrange scale random() instead of rejection sampling: 3x cheaper."""

    def choice(self, seq: Sequence[Item]) -> Item:  # type: ignore[override]
        return seq[int(self.random() * len(seq))]

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        if stop is None:
            start, stop = 0, start
        return start + int(self.random() * (stop - start))


@dataclass(frozen=True, slots=True)
class Presence:
    """Which stores and collections hold something about the subject."""

    orders: bool
    login: bool
    payment: bool
    ticket: bool
    identity_check: bool
    analytics: bool
    marketing: bool
    sessions: bool
    logs: bool
    mailer: bool
    shipper: bool
    legacy_import: bool


@dataclass(frozen=True, slots=True)
class Subject:
    index: int
    seed: int
    customer: company.Customer
    place: Place
    street: str
    device_ids: tuple[str, ...]
    platform: str
    user_agent: str
    cookie_id: str
    ipv4: tuple[str, str]  # home, mobile
    ipv6: str
    ssn: str
    presence: Presence

    @property
    def everywhere(self) -> bool:
        return self.index % 10 == 0

    @property
    def account_id(self) -> str:
        return self.customer.account_id

    @property
    def email(self) -> str:
        return self.customer.email

    @property
    def first_name(self) -> str:
        return self.customer.full_name.split(" ", 1)[0]

    @property
    def national_phone(self) -> str:
        digits = self.customer.phone.removeprefix("+1")
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"

    @property
    def street_address(self) -> str:
        return f"{self.street}, {self.place.city}, {self.place.region} {self.customer.postal_code}"

    def rng(self, part: str) -> Stream:
        """An independent random stream per part (orders, app, marketing…), so parts can be generated alone."""
        return Stream(f"{self.seed}:{self.index}:{part}")


def iter_subjects(count: int, seed: int = 7, start: int = 0) -> Iterator[Subject]:
    """Subjects `start`..`count-1`; the customers are exactly those of `company.generate(count, seed)`."""
    customer_rng = random.Random(seed)
    for index in range(count):
        # company.generate draws from one sequential stream, so earlier customers must be drawn to stay in step.
        customer = company._customer(customer_rng, index)
        if index >= start:
            yield make_subject(seed, index, customer)


def make_subject(seed: int, index: int, customer: company.Customer) -> Subject:
    rng = Stream(f"{seed}:{index}:profile")
    everywhere = index % 10 == 0
    agent = rng.randrange(len(USER_AGENTS))
    devices = 2 if everywhere or rng.random() < 0.3 else 1
    salt = _salts(seed)
    return Subject(
        index=index,
        seed=seed,
        customer=customer,
        place=PLACES[customer.postal_code],
        street=f"{rng.randrange(10, 9990)} {rng.choice(STREET_NAMES)} {rng.choice(STREET_SUFFIXES)}",
        device_ids=tuple(_device_id(rng, scramble(index * 2 + k, salt["device"], 48)) for k in range(devices)),
        platform=PLATFORMS[agent],
        user_agent=USER_AGENTS[agent],
        cookie_id=f"GA1.2.{scramble(index, salt['cookie'], 32):010d}.{rng.randrange(1_622_505_600, 1_763_596_800)}",
        ipv4=_ipv4_pair(scramble(index % 2**20, salt["ipv4"], 20)),
        ipv6=_ipv6(scramble(index, salt["ipv6"], 32)),
        ssn=_ssn(scramble(index, salt["ssn"], 40)),
        presence=_presence(rng, everywhere),
    )


def _presence(rng: Stream, everywhere: bool) -> Presence:
    def chance(probability: float) -> bool:
        draw = rng.random()  # always drawn, so one rule's change does not shift the others
        return everywhere or draw < probability

    orders = chance(0.8)
    return Presence(
        orders=orders,
        login=chance(0.95),
        payment=chance(0.7) and orders,
        ticket=chance(0.15),
        identity_check=chance(0.08),
        analytics=chance(0.7),
        marketing=chance(0.4),
        sessions=chance(0.3),
        logs=chance(0.5),
        mailer=chance(0.35),
        shipper=chance(0.5) and orders,
        legacy_import=chance(0.03),
    )


def scramble(value: int, salt: int, bits: int) -> int:
    """A bijection on `bits`-bit integers: distinct inputs give distinct, random-looking outputs."""
    mask = (1 << bits) - 1
    half = max(1, bits // 2)
    mixed = (value ^ salt) & mask
    mixed = (mixed * 0x9E3779B97F4A7C15) & mask
    mixed ^= mixed >> half
    mixed = (mixed * 0xBF58476D1CE4E5B9) & mask
    return mixed ^ (mixed >> half)


@lru_cache(maxsize=64)
def _salts(seed: int) -> dict[str, int]:
    def salt(purpose: str) -> int:
        return int.from_bytes(hashlib.blake2b(f"{seed}:{purpose}".encode(), digest_size=8).digest(), "big")

    return {purpose: salt(purpose) for purpose in ("device", "cookie", "ipv4", "ipv6", "ssn", "record")}


def record_salt(seed: int) -> int:
    return _salts(seed)["record"]


def _device_id(rng: Stream, unique: int) -> str:
    head = rng.getrandbits(64)
    return (
        f"{head >> 32:08x}-{(head >> 16) & 0xFFFF:04x}-4{(head >> 4) & 0xFFF:03x}-"
        f"{8 + (head & 3):x}{rng.getrandbits(12):03x}-{unique:012x}"
    )


def _ipv4_pair(slot: int) -> tuple[str, str]:
    base = CGNAT + slot * 4
    return str(IPv4Address(base + 1)), str(IPv4Address(base + 2))


def _ipv6(unique: int) -> str:
    return f"2001:db8:{unique >> 16:x}:{unique & 0xFFFF:x}::1"


def _ssn(unique: int) -> str:
    """Nine digits in the issued format (area 001 to 899 but not 666, group 01 to 99, serial 0001 to 9999)."""
    area = 1 + unique % 898
    area = 667 if area == 666 else area
    rest = unique // 898
    return f"{area:03d}-{1 + rest % 99:02d}-{1 + (rest // 99) % 9999:04d}"


@dataclass(frozen=True, slots=True)
class SubjectIdentifiers:
    """What `ccpa demo subjects` prints: identifiers read back from the generated app database."""

    account_id: str
    email: str
    phone: str
    device_id: str | None

    @property
    def everywhere(self) -> bool:
        return self.account_id.endswith("0")


def list_subjects(app_db_url: str, limit: int = 10, everywhere: bool = False) -> list[SubjectIdentifiers]:
    """The first `limit` customers (only those present in every store with `everywhere`) and a device of each."""
    customers = company.customers
    events = sa.table("analytics_events", sa.column("account_id"), sa.column("device_id"))
    device = (
        sa.select(sa.func.min(events.c.device_id))
        .where(events.c.account_id == customers.c.account_id)
        .scalar_subquery()
    )
    query = sa.select(customers.c.account_id, customers.c.email, customers.c.phone, device.label("device_id"))
    if everywhere:
        query = query.where(customers.c.account_id.like("%0"))
    engine = sa.create_engine(app_db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(query.order_by(customers.c.account_id).limit(limit)).all()
    finally:
        engine.dispose()
    return [SubjectIdentifiers(row.account_id, row.email, row.phone, row.device_id) for row in rows]
