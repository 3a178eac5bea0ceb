"""The demo's two service providers (mailer, shipper): their record storage and the privacy API discovery calls.

Each provider keeps its records in one SQLite file. `POST /privacy/v1/access` answers every record matching any
identifier of a kind the provider knows. Run one with
`python -m services.demo.providers --name mailer --port 8091 --data .local/demo/providers/mailer.db`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import BaseModel, Field

from services.common.http import ApiToken

mailer_metadata = sa.MetaData()
contacts = sa.Table(
    "contacts",
    mailer_metadata,
    sa.Column("contact_id", sa.String(24), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("external_id", sa.String(32), nullable=False, index=True),
    sa.Column("lists", sa.String(200), nullable=False),
    sa.Column("created_at", sa.String(20), nullable=False),
    sa.Column("last_sent_at", sa.String(20)),
)
deliveries = sa.Table(
    "deliveries",
    mailer_metadata,
    sa.Column("message_id", sa.String(24), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, index=True),
    sa.Column("template", sa.String(60), nullable=False),
    sa.Column("sent_at", sa.String(20), nullable=False),
    sa.Column("opened_at", sa.String(20)),
)

shipper_metadata = sa.MetaData()
shipments = sa.Table(
    "shipments",
    shipper_metadata,
    sa.Column("shipment_id", sa.String(24), primary_key=True),
    sa.Column("merchant_ref", sa.String(32), nullable=False, index=True),
    sa.Column("order_ref", sa.String(20), nullable=False, index=True),
    sa.Column("recipient_name", sa.String(200), nullable=False),
    sa.Column("recipient_email", sa.String(320), nullable=False, index=True),
    sa.Column("recipient_phone", sa.String(20), nullable=False, index=True),
    sa.Column("street", sa.String(200), nullable=False),
    sa.Column("city", sa.String(100), nullable=False),
    sa.Column("region", sa.String(2), nullable=False),
    sa.Column("postal_code", sa.String(10), nullable=False),
    sa.Column("tracking_number", sa.String(24), nullable=False),
    sa.Column("shipped_at", sa.String(20), nullable=False),
    sa.Column("delivered_at", sa.String(20)),
)


@dataclass(frozen=True)
class RecordType:
    """One kind of record a provider holds, which identifier kinds find it, and when it happened."""

    table: sa.Table
    record_id: str
    searchable: Mapping[str, str]  # identifier kind → column
    occurred_at: tuple[str, ...]  # first non-empty of these columns


PROVIDERS: dict[str, tuple[RecordType, ...]] = {
    "mailer": (
        RecordType(contacts, "contact_id", {"email": "email", "account_id": "external_id"}, ("last_sent_at",)),
        RecordType(deliveries, "message_id", {"email": "email"}, ("sent_at",)),
    ),
    "shipper": (
        RecordType(
            shipments,
            "shipment_id",
            {
                "account_id": "merchant_ref",
                "order_id": "order_ref",
                "email": "recipient_email",
                "phone": "recipient_phone",
            },
            ("delivered_at", "shipped_at"),
        ),
    ),
}
PROVIDER_METADATA = {"mailer": mailer_metadata, "shipper": shipper_metadata}
MAX_VALUES = 1000


def token_env(name: str) -> str:
    return f"DEMO_{name.upper()}_TOKEN"


class AccessQuery(BaseModel):
    identifiers: dict[str, Annotated[list[str], Field(max_length=MAX_VALUES)]] = Field(
        description="identifier kind → values, e.g. {'email': ['ada@example.com']}"
    )


class ProviderRecord(BaseModel):
    collection: str
    locator: str
    values: dict[str, Any]
    occurred_at: str | None


class AccessAnswer(BaseModel):
    records: list[ProviderRecord]


def find_records(engine: sa.Engine, record_types: Sequence[RecordType], query: AccessQuery) -> list[ProviderRecord]:
    """Every record of every type matching a value of a kind it can be searched by (parameterised queries only)."""
    wanted = {kind: sorted({_normalise(kind, value) for value in values}) for kind, values in query.identifiers.items()}
    found: list[ProviderRecord] = []
    with engine.connect() as connection:
        for record_type in record_types:
            table = record_type.table
            matches = [
                table.c[column].in_(wanted[kind]) for kind, column in record_type.searchable.items() if wanted.get(kind)
            ]
            if not matches:
                continue
            for row in connection.execute(sa.select(table).where(sa.or_(*matches))).mappings():
                found.append(_record(record_type, dict(row)))
    return found


def _normalise(kind: str, value: str) -> str:
    return value.strip().lower() if kind == "email" else value.strip()


def _record(record_type: RecordType, values: dict[str, Any]) -> ProviderRecord:
    occurred = next((values[column] for column in record_type.occurred_at if values.get(column)), None)
    return ProviderRecord(
        collection=record_type.table.name,
        locator=str(values[record_type.record_id]),
        values=values,
        occurred_at=occurred,
    )


def provider_app(name: str, data_path: Path, token: str) -> FastAPI:
    """The privacy API of provider `name` (mailer or shipper) over its SQLite file, behind a bearer token."""
    if name not in PROVIDERS:
        raise ValueError(f"unknown provider {name!r}; expected one of: {', '.join(PROVIDERS)}")
    if not token:
        raise ValueError(f"provider {name} needs a bearer token (set {token_env(name)})")
    if not Path(data_path).is_file():
        raise FileNotFoundError(f"provider {name}: no data at {data_path}; run `ccpa demo generate` first")
    engine = sa.create_engine(f"sqlite:///{data_path}")
    record_types = PROVIDERS[name]

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(title=f"{name} (demo service provider)", version="1", lifespan=lifespan)
    app.state.api_token = token

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness."""
        return {"provider": name, "status": "ok"}

    @app.post("/privacy/v1/access")
    def access(query: AccessQuery, _token: ApiToken) -> AccessAnswer:
        """Every record held about the consumer with any of these identifiers."""
        return AccessAnswer(records=find_records(engine, record_types, query))

    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="Run a demo service provider's privacy API")
    parser.add_argument("--name", required=True, choices=sorted(PROVIDERS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data", type=Path, required=True, help="the provider's SQLite file")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    try:
        app = provider_app(args.name, args.data, os.environ.get(token_env(args.name), ""))
    except (ValueError, FileNotFoundError) as exc:
        raise SystemExit(str(exc)) from None
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
