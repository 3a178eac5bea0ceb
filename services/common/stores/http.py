"""HTTP service-provider connector: POST {url}/privacy/v1/access with the identifier values, keep the records of
collections and fields the data map describes, drop (and count) the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from services.common.datamap.model import DataMap, Store
from services.common.stores.base import FoundRecord, Identifiers, StoreConfigError, StoreUnavailable
from services.common.stores.values import (
    occurred_at,
    parse_timestamp,
    record_values,
    searchable_kinds,
    short_hash,
)

log = logging.getLogger(__name__)
ACCESS_PATH = "/privacy/v1/access"


class ProviderRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    collection: str
    locator: str
    values: dict[str, Any]
    occurred_at: str | float | None = None


class ProviderResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")

    records: list[ProviderRecord]


class HttpProviderConnector:
    def __init__(self, datamap: DataMap, store: Store, env: Mapping[str, str],
                 transport: httpx.BaseTransport | None = None) -> None:  # fmt: skip
        if not store.url:
            raise StoreConfigError(store.name, "an http store needs `url`, the provider's base URL")
        self.datamap = datamap
        self.store = store
        self.kinds = searchable_kinds(datamap, store)
        self.client = httpx.Client(base_url=store.url.rstrip("/"), headers=auth_headers(store, env),
                                   timeout=store.timeout_seconds, transport=transport)  # fmt: skip

    def search(self, identifiers: Identifiers) -> list[FoundRecord]:
        asked = {kind: sorted(values) for kind, values in identifiers.items() if kind in self.kinds and values}
        if not asked:
            return []
        try:
            response = self.client.post(ACCESS_PATH, json={"identifiers": asked})
        except httpx.TimeoutException:
            raise StoreUnavailable(self.store.name, "timed out") from None
        except httpx.HTTPError as exc:
            raise StoreUnavailable(self.store.name, f"request failed ({type(exc).__name__})") from None
        if not response.is_success:
            raise StoreUnavailable(self.store.name, f"HTTP {response.status_code}")
        return self.records(parsed_response(self.store.name, response), identifiers)

    def close(self) -> None:
        self.client.close()

    def records(self, response: ProviderResponse, identifiers: Identifiers) -> list[FoundRecord]:
        """Records of collections the data map lists, with only its fields; the rest is dropped and counted."""
        found, unknown_collections, unknown_fields = [], 0, 0
        values_asked = {value for values in identifiers.values() for value in values}
        for item in response.records:
            collection = self.store.collection(item.collection)
            if collection is None:
                unknown_collections += 1
                continue
            unknown_fields += len(set(item.values) - {field.name for field in collection.fields})
            when = parse_timestamp(item.occurred_at) if item.occurred_at is not None else None
            found.append(FoundRecord(self.store.name, collection.name, safe_locator(item.locator, values_asked),
                                     record_values(collection, item.values),
                                     when or occurred_at(collection, item.values)))  # fmt: skip
        if unknown_collections or unknown_fields:
            log.info("provider returned records or fields the data map does not describe; dropped",
                     extra={"store": self.store.name, "collections": unknown_collections,
                            "fields": unknown_fields})  # fmt: skip
        return found


def auth_headers(store: Store, env: Mapping[str, str]) -> dict[str, str]:
    """The bearer token header from the variable the data map names; a clear error when it is not set."""
    if store.auth is None or store.auth.type == "none":
        return {}
    variable = store.auth.token_env
    token = env.get(variable, "") if variable else ""
    if not token:
        raise StoreConfigError(store.name, f"environment variable {variable} (auth.token_env) is not set or empty; "
                               "it must hold the provider's bearer token")  # fmt: skip
    return {"Authorization": f"Bearer {token}"}


def parsed_response(store: str, response: httpx.Response) -> ProviderResponse:
    try:
        body = response.json()
    except ValueError:
        raise StoreUnavailable(store, "malformed response: not JSON") from None
    try:
        return ProviderResponse.model_validate(body)
    except ValidationError as exc:
        # loc and message only: pydantic's input echo could carry a value.
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "<body>"
        raise StoreUnavailable(
            store,
            f"malformed response: {where}: {first['msg']} "
            '(expected {"records": [{collection, locator, values, occurred_at}]})',
        ) from None


def safe_locator(locator: str, values_asked: set[str]) -> str:
    """The provider's locator, hashed when it quotes an identifier value we sent."""
    lowered = locator.lower()
    if any(value.lower() in lowered for value in values_asked if len(value) > 2):
        return f"#{short_hash(locator)}"
    return locator
