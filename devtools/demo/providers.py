"""The demo's two service providers (mailer, shipper): their record storage and the privacy API the pipeline calls.

Each provider keeps its records in one SQLite file. `POST /privacy/v1/access` answers every record matching any
identifier of a kind the provider knows; signed deletion and correction instructions change those records
(devtools/demo/provider_instructions.py, docs/providers.md). Run one with
`python -m devtools.demo.providers --name mailer --port 8091 --data .local/demo/providers/mailer.db`
(DEMO_MAILER_TOKEN and DEMO_MAILER_SIGNING_SECRET in the environment).
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

from devtools.demo.provider_instructions import (
    MAX_VALUES,
    Applier,
    InstructionReceiver,
    ReceivedInstruction,
    Refused,
    instruction_router,
    privacy_metadata,
)
from services.common.db import create_tables, make_engine
from services.common.http import ApiToken
from services.common.signing import DEFAULT_TOLERANCE_SECONDS

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
    wanted = _wanted(query.identifiers)
    found: list[ProviderRecord] = []
    with engine.connect() as connection:
        for record_type in record_types:
            where = _matching(record_type, wanted)
            if where is None:
                continue
            for row in connection.execute(sa.select(record_type.table).where(where)).mappings():
                found.append(_record(record_type, dict(row)))
    return found


def _wanted(identifiers: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    return {kind: sorted({_normalise(kind, value) for value in values}) for kind, values in identifiers.items()}


def _matching(record_type: RecordType, wanted: Mapping[str, list[str]]) -> sa.ColumnElement[bool] | None:
    table = record_type.table
    matches = [table.c[column].in_(wanted[kind]) for kind, column in record_type.searchable.items() if wanted.get(kind)]
    return sa.or_(*matches) if matches else None


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


def erase(conn: sa.Connection, record_types: Sequence[RecordType], wanted: Mapping[str, list[str]]) -> int:
    matches = ((rt.table, _matching(rt, wanted)) for rt in record_types)
    return sum(conn.execute(sa.delete(table).where(where)).rowcount for table, where in matches if where is not None)


def correct(conn: sa.Connection, record_types: Sequence[RecordType], wanted: Mapping[str, list[str]],
            corrections: Mapping[str, str]) -> int:  # fmt: skip
    """Set corrected values on the consumer's records; keys are `field` (every record type with it) or
    `collection.field`. An unknown field refuses the whole instruction (422), so nothing is half-corrected."""
    plan = correction_plan(record_types, corrections)
    total = 0
    for record_type in record_types:
        values, where = plan.get(record_type.table.name), _matching(record_type, wanted)
        if values and where is not None:
            total += conn.execute(sa.update(record_type.table).where(where).values(values)).rowcount
    return total


def correction_plan(record_types: Sequence[RecordType], corrections: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """table → {column: corrected value}; the record id cannot be corrected."""
    plan: dict[str, dict[str, str]] = {}
    unknown = []
    for key, value in corrections.items():
        collection, _, column = key.rpartition(".")
        hits = [rt for rt in record_types if collection in ("", rt.table.name)
                and column in rt.table.c and column != rt.record_id]  # fmt: skip
        unknown += [] if hits else [key]
        for record_type in hits:
            kind = next((k for k, c in record_type.searchable.items() if c == column), "")
            plan.setdefault(record_type.table.name, {})[column] = _normalise(kind, value)
    if unknown:
        raise Refused(422, {"detail": "unknown field(s) to correct: " + ", ".join(sorted(unknown))[:300]})
    return plan


def records_applier(record_types: Sequence[RecordType]) -> Applier:
    """Deletes or corrects the records an instruction's identifiers find, in the receiver's transaction."""

    def apply(conn: sa.Connection, instruction: ReceivedInstruction) -> int:
        wanted = _wanted(instruction.identifiers)
        if instruction.kind == "delete":
            return erase(conn, record_types, wanted)
        return correct(conn, record_types, wanted, instruction.corrections)

    return apply


def provider_app(name: str, data_path: Path, token: str, signing_secret: str = "",
                 tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS) -> FastAPI:  # fmt: skip
    """The privacy API of provider `name` (mailer or shipper) over its SQLite file, behind a bearer token.
    Deletion and correction instructions are refused (503) unless `signing_secret` is given."""
    if name not in PROVIDERS:
        raise ValueError(f"unknown provider {name!r}; expected one of: {', '.join(PROVIDERS)}")
    if not token:
        raise ValueError(f"provider {name} needs a bearer token (set {token_env(name)})")
    if not Path(data_path).is_file():
        raise FileNotFoundError(f"provider {name}: no data at {data_path}; run `ccpa demo generate` first")
    engine = make_engine(f"sqlite:///{data_path}")
    create_tables(privacy_metadata, engine)
    record_types = PROVIDERS[name]
    receiver = InstructionReceiver(engine, records_applier(record_types), signing_secret, tolerance_seconds)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        receiver.close()
        engine.dispose()

    app = FastAPI(title=f"{name} (demo service provider)", version="1", lifespan=lifespan)
    app.state.api_token = token
    app.include_router(instruction_router(receiver))

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness."""
        return {"provider": name, "status": "ok"}

    @app.post("/privacy/v1/access")
    def access(query: AccessQuery, _token: ApiToken) -> AccessAnswer:
        """Every record held about the consumer with any of these identifiers."""
        return AccessAnswer(records=find_records(engine, record_types, query))

    return app


def signing_secret_env(name: str) -> str:
    return f"DEMO_{name.upper()}_SIGNING_SECRET"


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="Run a demo service provider's privacy API")
    parser.add_argument("--name", required=True, choices=sorted(PROVIDERS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data", type=Path, required=True, help="the provider's SQLite file")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    secrets = (os.environ.get(token_env(args.name), ""), os.environ.get(signing_secret_env(args.name), ""))
    try:
        app = provider_app(args.name, args.data, *secrets)
    except (ValueError, FileNotFoundError) as exc:
        raise SystemExit(str(exc)) from None
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
