"""Reading the services' JSON answers into the clients' typed results: instants and lists of items."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def moment(value: Any) -> datetime | None:
    """An ISO-8601 instant as an aware datetime (a naive one is UTC), or None."""
    if not value:
        return None
    found = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def items_of(body: Any, name: str) -> list[dict[str, Any]]:
    """The list of an answer: `{"items": [...]}`, `{name: [...]}` or a bare list."""
    if isinstance(body, list):
        found: Any = body
    elif isinstance(body, dict):
        found = body.get("items", body.get(name, []))
    else:
        found = []
    return [item for item in found if isinstance(item, dict)]
