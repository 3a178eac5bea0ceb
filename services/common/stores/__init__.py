"""One adapter per store kind (SQL, Redis, JSON-lines logs, HTTP providers): the only place a service connects to
a store; each offers its kind's operations (read, erase, correct, flag, sample). And the walk that follows
identifiers from store to store.
"""

from services.common.stores.base import (
    FoundRecord,
    Identifiers,
    SearchResult,
    StoreConfigError,
    StoreConnector,
    StoreUnavailable,
)
from services.common.stores.factory import open_connector
from services.common.stores.walk import WalkResult, identifiers_in, walk

__all__ = [
    "FoundRecord",
    "Identifiers",
    "SearchResult",
    "StoreConfigError",
    "StoreConnector",
    "StoreUnavailable",
    "WalkResult",
    "identifiers_in",
    "open_connector",
    "walk",
]
