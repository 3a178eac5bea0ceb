"""Typed data map: stores → collections (tables, key patterns, log streams, provider records) → fields.

Field annotations are data, not code: CCPA category, purposes, sources, recipients, retention, deletion strategy.
Walk keys are identifier kinds: a field that `identifies` a kind (email, account_id, order_id…) can be searched
with known values of that kind, and every value it holds becomes known for the next round of the walk.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import Field as PydanticField
from pydantic import model_validator

from services.common.datamap.base import Strict
from services.common.datamap.flows import Contract, Flow, Notices
from services.common.sensitive import SENSITIVE_CATEGORIES

CATEGORY_NAMES: dict[str, str] = {
    "A": "Identifiers",
    "B": "Customer records (§1798.80(e))",
    "C": "Characteristics of protected classifications",
    "D": "Commercial information",
    "E": "Biometric information",
    "F": "Internet or other electronic network activity",
    "G": "Geolocation data",
    "H": "Audio, electronic, visual, thermal, olfactory or similar information",
    "I": "Professional or employment-related information",
    "J": "Education information",
    "K": "Inferences drawn to create a profile",
    "L": "Sensitive personal information",
}

# §1798.105(d): the eight statutory exceptions to deletion, each a code the data map and responses use.
EXEMPTIONS: dict[str, str] = {
    "complete_transaction": "§1798.105(d)(1): complete the transaction, provide the goods or service",
    "security_integrity": "§1798.105(d)(2): help ensure security and integrity",
    "debug_repair": "§1798.105(d)(3): debug to identify and repair errors that impair intended functionality",
    "free_speech": "§1798.105(d)(4): exercise free speech or another right provided by law",
    "calecpa": "§1798.105(d)(5): comply with the California Electronic Communications Privacy Act",
    "public_research": "§1798.105(d)(6): public or peer-reviewed research in the public interest",
    "internal_uses": "§1798.105(d)(7): internal uses reasonably aligned with the consumer's expectations",
    "legal_obligation": "§1798.105(d)(8): comply with a legal obligation",
}

# §7024(d): never disclosed in a response to know; the consumer is told only that the business holds it.
WITHHELD_KINDS: dict[str, str] = {
    "ssn": "Social Security number",
    "government_id": "driver's license or other government-issued identification number",
    "financial_account": "financial account number",
    "health_insurance_id": "health insurance or medical identification number",
    "password": "account password",
    "security_qa": "security questions and answers",
    "biometric": "unique biometric data",
}

RECIPIENT_ROLES = ("service_provider", "contractor", "third_party")
SOURCES_HINT = "consumer, device, service_provider, third_party, inferred, public_records"
NAME = r"^[A-Za-z_][A-Za-z0-9_.\-]*$"
IDENTIFIER_KIND = r"^[a-z][a-z0-9_]*$"
DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$")


class Deletion(Strict):
    """How erasure treats a field or a whole collection."""

    strategy: Literal["delete", "null", "rewrite", "hash", "hmac", "retain"] = "delete"
    rewrite_to: str | None = None
    exemption: str | None = None
    retain_for: str | None = PydanticField(default=None, description="ISO-8601 duration, e.g. P7Y")

    @model_validator(mode="after")
    def _consistent(self) -> Deletion:
        if self.strategy == "retain":
            if self.exemption is None:
                raise ValueError("strategy 'retain' needs an exemption code, one of: " + ", ".join(EXEMPTIONS))
            if self.retain_for is None:
                raise ValueError("strategy 'retain' needs retain_for, an ISO-8601 duration such as P7Y")
        if self.exemption is not None and self.exemption not in EXEMPTIONS:
            raise ValueError(f"unknown exemption {self.exemption!r}; expected one of: " + ", ".join(EXEMPTIONS))
        if self.retain_for is not None and not DURATION.match(self.retain_for):
            raise ValueError(f"retain_for {self.retain_for!r} is not an ISO-8601 duration like P7Y or P18M")
        if self.strategy == "rewrite" and self.rewrite_to is None:
            raise ValueError("strategy 'rewrite' needs rewrite_to, the replacement value")
        return self


class Field(Strict):
    name: str
    category: Literal["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L"] | None = PydanticField(
        default=None, description="CCPA category A to K, or L (sensitive) with `sensitive`; omit for non-PI fields"
    )
    sensitive: str | None = None
    identifies: Annotated[str, PydanticField(pattern=IDENTIFIER_KIND)] | None = None
    references: str | None = PydanticField(default=None, description="table.field or store.table.field")
    follow: bool = PydanticField(
        default=True,
        description="false: searched with the values the walk has, but values found here are not followed "
        "(shared identifiers such as a household phone would reach other people's records)",
    )
    one_way: bool = PydanticField(
        default=False,
        description="a `references` field whose values are followed to the referenced row (orders.product_id to "
        "product.id), but which is never searched by values found elsewhere (that would reach everyone who "
        "references the same row)",
    )
    stored: Literal["normalised"] | None = PydanticField(
        default=None,
        description="normalised: every value is stored in its kind's normal form (emails trimmed and lower-case), so "
        "a plain index serves the look-up; checked on the connector's first use, and lower(column) is used if false",
    )
    withheld: str | None = PydanticField(default=None, description="§7024(d) kind: shown only as 'held'")
    corrects: str | None = PydanticField(
        default=None, description="the data point a correct request names for this field (default: the field's name)"
    )
    label: str | None = None
    purposes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    disclosed_to: tuple[str, ...] = ()
    sold_to: tuple[str, ...] = ()
    shared_to: tuple[str, ...] = ()
    retention: str | None = None
    deletion: Deletion | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Field:
        if self.category == "L" and self.sensitive not in SENSITIVE_CATEGORIES:
            raise ValueError("category L needs `sensitive`, one of: " + ", ".join(SENSITIVE_CATEGORIES))
        if self.sensitive is not None and self.sensitive not in SENSITIVE_CATEGORIES:
            raise ValueError(f"unknown sensitive sub-category {self.sensitive!r}; expected one of: "
                             + ", ".join(SENSITIVE_CATEGORIES))  # fmt: skip
        if self.withheld is not None and self.withheld not in WITHHELD_KINDS:
            raise ValueError(f"unknown withheld kind {self.withheld!r}; expected one of: " + ", ".join(WITHHELD_KINDS))
        if self.identifies and self.references:
            raise ValueError("give either `identifies` or `references`, not both")
        if not self.follow and not (self.identifies or self.references):
            raise ValueError("`follow: false` only applies to a field that `identifies` or `references` a kind")
        if self.one_way and not self.references:
            raise ValueError("`one_way: true` only applies to a field that `references` another (table.field)")
        if self.stored is not None and not (self.identifies or self.references):
            raise ValueError("`stored` only applies to a field that `identifies` or `references` a kind")
        return self

    @property
    def searched(self) -> bool:
        """Whether the walk searches this field by known values (a one-way reference is only followed)."""
        return not self.one_way

    @property
    def is_pi(self) -> bool:
        return self.category is not None

    @property
    def display_name(self) -> str:
        return self.label or self.name.replace("_", " ")


class OptOutFlags(Strict):
    """The columns of a system of record in which the opt-out service keeps the consumer's current choices."""

    sale_opt_out: str | None = PydanticField(default=None, description="boolean column: opted out of sale")
    share_opt_out: str | None = PydanticField(default=None, description="boolean column: opted out of sharing")
    limit_sensitive: str | None = PydanticField(
        default=None, description="text column: the limited sensitive categories, comma-separated"
    )

    @model_validator(mode="after")
    def _some(self) -> OptOutFlags:
        if not self.columns():
            raise ValueError("name at least one column: sale_opt_out, share_opt_out or limit_sensitive")
        return self

    def columns(self) -> dict[str, str]:
        """Flag name → column, for the flags this system of record keeps."""
        return {name: column for name, column in self.model_dump().items() if column}


class Collection(Strict):
    """A table (sql), a key pattern (redis), a log stream (jsonl) or a record type (http)."""

    name: str = PydanticField(pattern=NAME)
    key_pattern: str | None = PydanticField(default=None, description="redis: e.g. session:{account_id}")
    value_type: Literal["hash", "json", "string"] = "hash"
    path: str | None = PydanticField(default=None, description="jsonl: glob of the files, rotated and .gz included")
    primary_key: tuple[str, ...] = ()
    timestamp_field: str | None = None
    description: str | None = None
    fields: tuple[Field, ...]
    deletion: Deletion | None = None
    not_searched_reason: str | None = PydanticField(
        default=None, description="§7024(c): why a collection is not searched (archive kept only for legal purposes)"
    )
    opt_out_flags: OptOutFlags | None = PydanticField(
        default=None, description="sql: this table is a system of record whose opt-out flag columns optout keeps"
    )
    subject_types: tuple[Literal["consumer", "employee", "job_applicant", "b2b_contact"], ...] = PydanticField(
        default=("consumer",), min_length=1, description="whose records it holds; a request of another type skips it"
    )
    shared: bool = PydanticField(
        default=False,
        description="rows shared by many people (products, employees), reached through one-way references: a know "
        "response shows them as referenced data; erasure and correction never delete or edit them",
    )

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def key_kinds(self) -> tuple[str, ...]:
        """Identifier kinds named in the redis key pattern, in order."""
        return tuple(re.findall(r"\{([a-z][a-z0-9_]*)\}", self.key_pattern or ""))


class Auth(Strict):
    type: Literal["bearer", "none"] = "bearer"
    token_env: str | None = PydanticField(default=None, description="environment variable holding the token")


class Backups(Strict):
    description: str
    retention: str
    restore_procedure: str | None = None


class Store(Strict):
    name: str = PydanticField(pattern=NAME)
    kind: Literal["sql", "redis", "jsonl", "http", "opensearch"]
    description: str | None = None
    url: str | None = PydanticField(default=None, description="SQLAlchemy URL, redis:// URL or provider base URL")
    recipient: str | None = PydanticField(default=None, description="http: the registered recipient it belongs to")
    auth: Auth | None = None
    timeout_seconds: float = PydanticField(default=10.0, gt=0)
    backups: Backups | None = None
    collections: tuple[Collection, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Store:
        needs_url = {"sql": "a SQLAlchemy URL", "redis": "a redis:// URL", "http": "the provider's base URL"}
        if self.kind in needs_url and not self.url:
            raise ValueError(f"a {self.kind} store needs `url`, {needs_url[self.kind]}")
        for collection in self.collections:
            if self.kind == "redis" and not collection.key_kinds():
                raise ValueError(f"collection {collection.name}: a redis collection needs a key_pattern "
                                 "naming an identifier kind, e.g. session:{account_id}")  # fmt: skip
            if self.kind == "jsonl" and not collection.path:
                raise ValueError(f"collection {collection.name}: a jsonl collection needs `path`, a file glob")
            if self.kind != "sql" and collection.opt_out_flags is not None:
                raise ValueError(f"collection {collection.name}: `opt_out_flags` applies to sql stores only "
                                 f"(this one is {self.kind})")  # fmt: skip
        return self

    def collection(self, name: str) -> Collection | None:
        return next((c for c in self.collections if c.name == name), None)


class Recipient(Strict):
    """A service provider, contractor or third party that personal information is disclosed, sold or shared to."""

    name: str = PydanticField(pattern=NAME)
    role: Literal["service_provider", "contractor", "third_party"]
    category: str = PydanticField(description="the category of recipient the consumer is told, e.g. 'email delivery'")
    description: str | None = None
    deletion_url: str | None = PydanticField(
        default=None, description="where deletion instructions go; default: the provider store's /privacy/v1/deletions"
    )
    auth: Auth | None = None
    signing_secret_env: str | None = PydanticField(
        default=None, description="environment variable holding the HMAC secret instructions are signed with"
    )
    disproportionate_effort: str | None = PydanticField(
        default=None, description="§7022: why notifying this recipient is impossible or disproportionate"
    )
    contract: Contract | None = PydanticField(
        default=None, description="the written contract on file (§7051, §7053): when signed, which terms it has"
    )


class DataMap(Strict):
    version: Literal[1] = 1
    business: str
    collected_since: date = date(2022, 1, 1)
    notices: Notices | None = None
    recipients: tuple[Recipient, ...] = ()
    stores: tuple[Store, ...]
    flows: tuple[Flow, ...] = ()

    def store(self, name: str) -> Store | None:
        return next((s for s in self.stores if s.name == name), None)

    def recipient(self, name: str) -> Recipient | None:
        return next((r for r in self.recipients if r.name == name), None)

    def flow(self, name: str) -> Flow | None:
        return next((f for f in self.flows if f.name == name), None)

    def systems_of_record(self) -> list[tuple[Store, Collection]]:
        """The tables whose opt-out flags the opt-out service keeps current, in data-map order."""
        return [(store, collection) for store in self.stores for collection in store.collections
                if collection.opt_out_flags is not None]  # fmt: skip

    def identifier_kind(self, store: Store, collection: Collection, field: Field) -> str | None:
        """The kind a field identifies, following `references` to the field it points at."""
        if field.identifies:
            return field.identifies
        if field.references:
            target = self.resolve_reference(store, field.references)
            return target.identifies if target else None
        return None

    def resolve_reference(self, store: Store, reference: str) -> Field | None:
        parts = reference.split(".")
        if len(parts) == 2:
            target_store, (table, column) = store, parts
        elif len(parts) == 3:
            named = self.store(parts[0])
            if named is None:
                return None
            target_store, table, column = named, parts[1], parts[2]
        else:
            return None
        target = target_store.collection(table)
        return target.field(column) if target else None
