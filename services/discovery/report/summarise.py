"""The individualised categories part (§1798.110(a), §7024): only fields that held a value for the subject count."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Literal

from services.common.datamap import CATEGORY_NAMES, DataMap, Field
from services.discovery.report.model import CategoryFound, Origin, RecipientCategory, Relation
from services.discovery.report.texts import ROLE_NAMES, SENSITIVE_NAMES, SOURCE_NAMES, humanise

RELATIONS: tuple[tuple[Relation, str], ...] = (
    ("disclosed", "disclosed_to"),
    ("sold", "sold_to"),
    ("shared", "shared_to"),
)


def field_categories(field: Field) -> tuple[str, ...]:
    """The field's category, plus L when it is sensitive under another letter (an SSN is A and L)."""
    if field.category is None:
        return ()
    if field.sensitive and field.category != "L":
        return (field.category, "L")
    return (field.category,)


def categories(fields: Iterable[Field]) -> tuple[CategoryFound, ...]:
    examples: defaultdict[str, set[str]] = defaultdict(set)
    sensitive: set[str] = set()
    for field in fields:
        for code in field_categories(field):
            examples[code].add(field.display_name)
        if field.sensitive and field.category is not None:
            sensitive.add(SENSITIVE_NAMES.get(field.sensitive, field.sensitive))
    return tuple(_category(code, examples[code], sensitive if code == "L" else set()) for code in sorted(examples))


def _category(code: str, examples: set[str], sensitive: set[str]) -> CategoryFound:
    return CategoryFound(code, CATEGORY_NAMES[code], tuple(sorted(sensitive)), tuple(sorted(examples)))


def origins(fields: Iterable[Field], attribute: Literal["sources", "purposes"]) -> tuple[Origin, ...]:
    names = SOURCE_NAMES if attribute == "sources" else None
    by_name: defaultdict[str, set[str]] = defaultdict(set)
    for field in fields:
        for item in getattr(field, attribute):
            by_name[humanise(item, names)].update(field_categories(field))
    return tuple(Origin(name, tuple(sorted(codes))) for name, codes in sorted(by_name.items()) if codes)


def recipients(datamap: DataMap, fields: Iterable[Field]) -> tuple[RecipientCategory, ...]:
    groups: defaultdict[tuple[int, str, str], set[str]] = defaultdict(set)
    for field in fields:
        for order, (_relation, attribute) in enumerate(RELATIONS):
            for name in getattr(field, attribute):
                recipient = datamap.recipient(name)
                if recipient is None:
                    raise ValueError(f"field {field.name}: {attribute} names {name!r}, not a recipient of the data map")
                groups[(order, recipient.category, ROLE_NAMES[recipient.role])].update(field_categories(field))
    return tuple(
        RecipientCategory(RELATIONS[order][0], category, role, tuple(sorted(codes)))
        for (order, category, role), codes in sorted(groups.items())
        if codes
    )
