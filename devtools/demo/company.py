"""The demo company's customer records (the identity source intake verifies against), generated from a seed."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

FIRST = (
    "Ada",
    "Grace",
    "Alan",
    "Katherine",
    "Linus",
    "Barbara",
    "Dennis",
    "Frances",
    "Ken",
    "Radia",
    "Tim",
    "Hedy",
)
LAST = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Johnson",
    "Torvalds",
    "Liskov",
    "Ritchie",
    "Allen",
    "Thompson",
    "Perlman",
)
CA_ZIPS = ("94103", "94110", "90012", "92101", "95814", "94301", "90401", "95112", "93101", "92612")
# 555-01xx numbers are reserved for fiction in the North American plan, so demo phones reach nobody.
AREA_CODES = ("415", "213", "619", "916", "650", "310", "408", "805", "949", "510")

metadata = sa.MetaData()
customers = sa.Table(
    "customers",
    metadata,
    sa.Column("account_id", sa.String(32), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("phone", sa.String(20), nullable=False, index=True),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("postal_code", sa.String(10), nullable=False),
    sa.Column("date_of_birth", sa.String(10), nullable=False),
    # Kept current by the opt-out service: the data maps' system of record for sale/sharing choices
    # (`opt_out_flags` in devtools/demo/datamap.yaml and crm-datamap.yaml).
    sa.Column("do_not_sell", sa.Boolean, nullable=False, default=False),
    sa.Column("do_not_share", sa.Boolean, nullable=False, default=False),
    sa.Column("limit_sensitive", sa.String(500), nullable=False, default=""),
)
# Emails are matched case-insensitively (lower(email) = :value): without this index every look-up is a table scan.
sa.Index("ix_customers_email_lower", sa.func.lower(customers.c.email))


@dataclass(frozen=True)
class Customer:
    account_id: str
    email: str
    phone: str
    full_name: str
    postal_code: str
    date_of_birth: str


def generate(count: int, seed: int = 7) -> list[Customer]:
    rng = random.Random(seed)
    return [_customer(rng, index) for index in range(count)]


def _customer(rng: random.Random, index: int) -> Customer:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
    return Customer(
        account_id=f"acct-{index:07d}",
        email=f"{first}.{last}.{index}@example.com".lower(),
        phone=f"+1{rng.choice(AREA_CODES)}55501{index % 100:02d}",
        full_name=f"{first} {last}",
        postal_code=rng.choice(CA_ZIPS),
        date_of_birth=born.isoformat(),
    )


def _outdated(engine: sa.Engine) -> bool:
    """An older demo file without the consent flag columns is regenerated."""
    inspector = sa.inspect(engine)
    if not inspector.has_table("customers"):
        return False
    return "do_not_sell" not in {column["name"] for column in inspector.get_columns("customers")}


def seed(path: Path, count: int = 200, seed_value: int = 7) -> Path:
    """Create the customers table once; an existing, complete file is left untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(f"sqlite:///{path}")
    if _outdated(engine):
        metadata.drop_all(engine)
    metadata.create_all(engine)
    with engine.begin() as conn:
        present = conn.execute(sa.select(sa.func.count()).select_from(customers)).scalar_one()
        if present < count:
            conn.execute(sa.delete(customers))
            rows = [{**asdict(c), "do_not_sell": False, "do_not_share": False, "limit_sensitive": ""}
                    for c in generate(count, seed_value)]  # fmt: skip
            conn.execute(sa.insert(customers), rows)
    engine.dispose()
    return path
