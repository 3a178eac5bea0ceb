"""Store connectors discovery uses to find a subject's records (SQL, Redis, JSON-lines logs, HTTP providers),
and the walk that follows identifiers from store to store.
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
