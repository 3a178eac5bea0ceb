"""The store adapters a walk of a narrowed data map uses (services/common/datamap/subjects.py): each searches only the
collections the narrowed map keeps, on the connection already open."""

from __future__ import annotations

import copy
from collections.abc import Mapping

from services.common.datamap.model import DataMap
from services.common.stores.base import StoreConnector


def scoped_connectors(connectors: Mapping[str, StoreConnector], datamap: DataMap) -> dict[str, StoreConnector]:
    """The connectors of the map's stores, each seeing the map's (narrowed) store; the others are not asked."""
    scoped: dict[str, StoreConnector] = {}
    for name, connector in connectors.items():
        store = datamap.store(name)
        if store is None:
            continue
        if store is connector.store:
            scoped[name] = connector
            continue
        # A shallow copy shares the open engine or client; only the collections it iterates differ.
        narrowed = copy.copy(connector)
        narrowed.store = store
        scoped[name] = narrowed
    return scoped
