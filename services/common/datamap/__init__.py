"""The data map: which stores hold personal information, in which fields, under which CCPA category and rules."""

from services.common.datamap.loader import DataMapError, load_datamap, parse_datamap
from services.common.datamap.model import (
    CATEGORY_NAMES,
    EXEMPTIONS,
    WITHHELD_KINDS,
    Collection,
    DataMap,
    Field,
    OptOutFlags,
    Recipient,
    Store,
)

__all__ = [
    "CATEGORY_NAMES",
    "EXEMPTIONS",
    "WITHHELD_KINDS",
    "Collection",
    "DataMap",
    "DataMapError",
    "Field",
    "OptOutFlags",
    "Recipient",
    "Store",
    "load_datamap",
    "parse_datamap",
]
