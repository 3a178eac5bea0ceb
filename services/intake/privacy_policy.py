"""The business's privacy policy (§1798.130(a)(5), §7011), read from the data map: what is collected, from whom and
why, what is sold, shared or disclosed and to whom, how long it is kept, and whose records are held (consumers, job
applicants, employees). The page (services/intake/web/policy.py) adds the rights and how to use them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from services.common.datamap import CATEGORY_NAMES, Collection, DataMap, Field
from services.common.subject_types import SUBJECT_TYPE_LABELS, SubjectType

MAX_EXAMPLES = 6


@dataclass(frozen=True)
class CategoryUse:
    """One CCPA category as the policy tells it: what it holds, where it comes from, why, and how long it stays."""

    code: str
    name: str
    examples: tuple[str, ...]
    sources: tuple[str, ...]
    purposes: tuple[str, ...]
    retention: tuple[str, ...]


@dataclass(frozen=True)
class Disclosure:
    """A category sold, shared or disclosed for a business purpose, and the kinds of recipient."""

    category: str
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class PrivacyPolicy:
    business: str
    last_updated: date
    collected: tuple[CategoryUse, ...]
    sold: tuple[Disclosure, ...]
    shared: tuple[Disclosure, ...]
    disclosed: tuple[Disclosure, ...]  # to service providers and contractors, for a business purpose
    sensitive: tuple[str, ...]  # the sensitive sub-categories collected (their codes)
    subject_types: dict[str, tuple[CategoryUse, ...]]  # a non-consumer type's label -> what is held about them


def privacy_policy(datamap: DataMap, last_updated: date) -> PrivacyPolicy:
    pairs = list(_pi_fields(datamap))
    others = {
        SUBJECT_TYPE_LABELS[kind]: _categories(datamap, [(c, f) for c, f in pairs if kind.value in c.subject_types])
        for kind in SubjectType
        if kind is not SubjectType.CONSUMER
    }
    return PrivacyPolicy(
        business=datamap.business,
        last_updated=last_updated,
        collected=_categories(datamap, pairs),
        sold=_flowing(datamap, "sale", "sold_to"),
        shared=_flowing(datamap, "sharing", "shared_to"),
        disclosed=_flowing(datamap, None, "disclosed_to"),
        sensitive=tuple(sorted({field.sensitive for _, field in pairs if field.sensitive})),
        subject_types={label: uses for label, uses in others.items() if uses},
    )


def _pi_fields(datamap: DataMap) -> Iterator[tuple[Collection, Field]]:
    for store in datamap.stores:
        for collection in store.collections:
            yield from ((collection, field) for field in collection.fields if field.is_pi)


def _categories(datamap: DataMap, pairs: Iterable[tuple[Collection, Field]]) -> tuple[CategoryUse, ...]:
    by_code: dict[str, list[tuple[Collection, Field]]] = {}
    for collection, field in pairs:
        by_code.setdefault(field.category or "", []).append((collection, field))
    return tuple(_category_use(code, found) for code, found in sorted(by_code.items()))


def _category_use(code: str, found: list[tuple[Collection, Field]]) -> CategoryUse:
    return CategoryUse(
        code=code,
        name=CATEGORY_NAMES[code],
        examples=_distinct(field.display_name for _, field in found)[:MAX_EXAMPLES],
        sources=_distinct(source.replace("_", " ") for _, field in found for source in field.sources),
        purposes=_distinct(purpose.replace("_", " ") for _, field in found for purpose in field.purposes),
        retention=_retention(found),
    )


def _retention(found: list[tuple[Collection, Field]]) -> tuple[str, ...]:
    """The periods the data map states (a field's `retention`, a collection kept under an exemption), then the rule
    for the rest of the category."""
    stated, unstated = [], False
    for collection, field in found:
        deletion = collection.deletion
        if field.retention:
            stated.append(f"{field.display_name}: {field.retention}")
        elif deletion is not None and deletion.retain_for:
            why = (deletion.exemption or "").replace("_", " ")
            stated.append(f"{field.display_name}: {_duration_words(deletion.retain_for)} ({why})")
        else:
            unstated = True
    if unstated:
        rest = "everything else in this category" if stated else "this category"
        stated.append(f"{rest}: until you ask us to delete it or we no longer need it")
    return _distinct(stated)


def _duration_words(duration: str) -> str:
    """P7Y -> '7 years', P18M -> '18 months', P90D -> '90 days'."""
    units = {"Y": "year", "M": "month", "D": "day"}
    parts, number = [], ""
    for char in duration.removeprefix("P"):
        if char.isdigit():
            number += char
        elif char in units:
            parts.append(f"{number} {units[char]}{'s' if number != '1' else ''}")
            number = ""
    return " ".join(parts)


def _flowing(datamap: DataMap, relation: str | None, field_key: str) -> tuple[Disclosure, ...]:
    """Categories the fields (`sold_to` ...) and the registered flows of that relation carry, with their recipients;
    relation None: the flows to service providers and contractors."""
    carried: dict[str, set[str]] = {}
    for _, field in _pi_fields(datamap):
        for name in getattr(field, field_key):
            recipient = datamap.recipient(name)
            carried.setdefault(field.category or "", set()).add(recipient.category if recipient else name)
    for flow in datamap.flows:
        wanted = flow.relation == relation if relation else flow.relation in ("service_provider", "contractor")
        recipient = datamap.recipient(flow.recipient)
        if not wanted or recipient is None:
            continue
        for code in {*flow.categories, *(_field_category(datamap, path) for path in flow.fields)} - {""}:
            carried.setdefault(code, set()).add(recipient.category)
    return tuple(Disclosure(CATEGORY_NAMES[code], tuple(sorted(names))) for code, names in sorted(carried.items()))


def _field_category(datamap: DataMap, path: str) -> str:
    store_name, collection_name, field_name = path.split(".", 2)
    store = datamap.store(store_name)
    collection = store.collection(collection_name) if store else None
    field = collection.field(field_name) if collection else None
    return (field.category or "") if field else ""


def _distinct(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))
