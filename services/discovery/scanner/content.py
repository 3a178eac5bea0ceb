"""The purpose and content check (Healthline 2025: article titles implying a diagnosis went to advertisers): which
fields the data map sells or shares, and what their sampled URLs, page titles and search terms reveal, by sensitive
category (services/common/flows/content.py). Counts only; a value is looked at once and dropped.
"""

from __future__ import annotations

from collections import Counter

from services.common.datamap.model import DataMap
from services.common.flows.content import revealed_sensitive
from services.common.flows.vocabulary import OPT_OUT_RELATIONS
from services.discovery.scanner.model import ContentCheck, Destination, Revealed

FieldPath = tuple[str, str, str]


def destinations(datamap: DataMap) -> dict[str, dict[str, dict[str, Destination]]]:
    """Every field the data map sells or shares: its `sold_to`/`shared_to`, or a sale or sharing flow lists it."""
    recipients: dict[FieldPath, set[str]] = {}
    flows: dict[FieldPath, set[str]] = {}
    for store in datamap.stores:
        for collection in store.collections:
            for field in collection.fields:
                if field.sold_to or field.shared_to:
                    key = (store.name, collection.name, field.name)
                    recipients.setdefault(key, set()).update(field.sold_to, field.shared_to)
    known = {(s.name, c.name, f.name) for s in datamap.stores for c in s.collections for f in c.fields}
    for flow in datamap.flows:
        for path in flow.fields if flow.relation in OPT_OUT_RELATIONS else ():
            carried = _field_path(path)
            if carried is not None and carried in known:
                recipients.setdefault(carried, set()).add(flow.recipient)
                flows.setdefault(carried, set()).add(flow.name)
    found: dict[str, dict[str, dict[str, Destination]]] = {}
    for key, names in recipients.items():
        store_name, collection_name, field_name = key
        destination = Destination(tuple(sorted(names)), tuple(sorted(flows.get(key, ()))))
        found.setdefault(store_name, {}).setdefault(collection_name, {})[field_name] = destination
    return found


def _field_path(path: str) -> FieldPath | None:
    parts = path.split(".")
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


class ContentTally:
    """Running counts of what a sold or shared field's text values reveal."""

    def __init__(self, destination: Destination) -> None:
        self.destination = destination
        self.checked = 0
        self.revealed: Counter[str] = Counter()

    def observe(self, text: str) -> None:
        self.checked += 1
        self.revealed.update(revealed_sensitive(text))

    def check(self, marked_sensitive: str | None) -> ContentCheck:
        total = self.checked or 1
        revealed = sorted(self.revealed.items(), key=lambda item: (-item[1], item[0]))
        return ContentCheck(self.destination, self.checked,
                            tuple(Revealed(category, count, count / total) for category, count in revealed),
                            marked_sensitive)  # fmt: skip


SENSITIVE_WORDS = {
    "health": "a health condition",
    "sex_life_orientation": "a sexual orientation or sex life",
    "precise_geolocation": "a precise location",
}


def described(category: str) -> str:
    """A category in words for a review line."""
    return SENSITIVE_WORDS.get(category, category.replace("_", " "))


def goes_to(content: ContentCheck) -> str:
    """`adreach (flow adreach-events)`: the recipients, and the flows that carry the field."""
    recipients = ", ".join(content.destination.recipients)
    flows = content.destination.flows
    return f"{recipients} (flow{'s' if len(flows) > 1 else ''} {', '.join(flows)})" if flows else recipients
