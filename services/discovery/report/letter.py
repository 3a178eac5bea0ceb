"""The access report as a letter (HTML): who writes, what was found in plain words, the pieces grouped by subject.

Pure: it reads only the report and the letterhead. No store key, table or field name, hash or locator reaches
the words it returns; the letter's template shows nothing else from the report.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass

from services.common.pacific import day_text, human_when, moment_text
from services.discovery.report.build import UNAVAILABLE
from services.discovery.report.labels import GROUP_ORDER, field_label, group_of, group_title, record_title, words
from services.discovery.report.model import CategoryFound, Piece, PieceValue, RecordPieces, Report
from services.discovery.report.texts import CATEGORY_PLAIN, PURPOSE_NAMES, ROLE_PLAIN, WITHHELD_TEXT, plural

CODE_LIKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$|^[a-z]+[A-Z]\w*$")


@dataclass(frozen=True)
class Letterhead:
    """Who the letter is from and how the consumer reaches them (the business identity settings)."""

    name: str
    contact_email: str | None = None
    contact_phone: str | None = None
    postal_address: str | None = None
    privacy_center_url: str | None = None


@dataclass(frozen=True)
class Line:
    label: str
    text: str
    withheld: bool = False


@dataclass(frozen=True)
class RecordView:
    title: str
    when: str | None
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class GroupView:
    key: str
    title: str
    records: tuple[RecordView, ...]


@dataclass(frozen=True)
class CategoryView:
    name: str
    explanation: str
    sensitive: tuple[str, ...]
    examples: tuple[str, ...]


def summary(report: Report) -> str:
    """The report's summary in words, with the period in dates a person reads."""
    searched = plural(len(report.searched), "of our systems", "of our systems")
    span = f"{day_text(report.period.start)} to {day_text(report.period.end)}"
    looked = f"We looked for information about you in {searched}, covering {span}."
    kinds = plural(len(report.categories), "category", "categories")
    if report.record_count == 0 or (not report.categories and not report.specific):
        found = "We found no personal information about you."
    elif report.specific:
        found = f"We found {plural(report.record_count, 'record')} about you, with information in {kinds}."
    else:
        found = f"We found personal information about you in {kinds}."
    missing = sum(skipped.reason == UNAVAILABLE for skipped in report.not_searched)
    gap = f" {plural(missing, 'system')} could not be reached, so this letter may be incomplete." if missing else ""
    return f"{looked} {found}{gap}"


def category_name(code: str) -> str:
    return CATEGORY_PLAIN[code][0]


def category_names(codes: tuple[str, ...]) -> str:
    return ", ".join(category_name(code) for code in codes)


def categories(report: Report) -> tuple[CategoryView, ...]:
    return tuple(_category(found) for found in report.categories)


def _category(found: CategoryFound) -> CategoryView:
    name, explanation = CATEGORY_PLAIN[found.code]
    return CategoryView(name, explanation, found.sensitive, tuple(example_text(e) for e in found.examples))


def example_text(label: str) -> str:
    """A field's display name as the examples list shows it: code-like names become words."""
    return words(label).lower() if CODE_LIKE.match(label) else label


def purpose_name(name: str) -> str:
    """The report's purposes are humanised codes ("Order fulfilment"); the known ones get a sentence."""
    return PURPOSE_NAMES.get(re.sub(r"\W+", "_", name.strip().lower()), name)


def role_text(role: str) -> str:
    return ROLE_PLAIN.get(role, role)


def withheld_kinds(report: Report) -> tuple[str, ...]:
    """Each kind of withheld information once, wherever it is held."""
    return tuple(dict.fromkeys(item.kind_name for item in report.withheld))


def place(name: str, description: str | None) -> str:
    """Where we looked, in words: the first clause of the data map's description (not its file names or details)."""
    if not description:
        return words(name)
    return re.split(r" \(|; |: |\. ", description.strip(), maxsplit=1)[0].rstrip(".")


def groups(report: Report) -> tuple[GroupView, ...]:
    """The specific pieces, by what they are about (account, orders, ...), each record a titled list of lines."""
    grouped: defaultdict[str, list[RecordView]] = defaultdict(list)
    for store in report.specific_pieces:
        for collection in store.collections:
            held = [piece.category for record in collection.records for piece in record.pieces]
            key = group_of(store.store, collection.collection, held).key
            title = record_title(collection.collection)
            grouped[key].extend(_record(title, record) for record in collection.records)
    return tuple(GroupView(key, group_title(key), tuple(grouped[key])) for key in GROUP_ORDER if grouped[key])


def _record(title: str, record: RecordPieces) -> RecordView:
    when = moment_text(record.occurred_at) if record.occurred_at else None
    return RecordView(title, when, tuple(_line(piece) for piece in record.pieces))


def _line(piece: Piece) -> Line:
    label = field_label(piece.field, piece.label)
    if piece.withheld:
        return Line(label, WITHHELD_TEXT, withheld=True)
    return Line(label, value_text(piece.value))


def value_text(value: PieceValue) -> str:
    """A stored value as a person reads it: yes/no, dates in Pacific time, lists joined, objects as label: value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, str):
        return human_when(value) or _json_text(value) or value
    if isinstance(value, list):
        flat = all(not isinstance(item, list | dict) for item in value)
        return (", " if flat else "; ").join(value_text(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{words(key)}: {value_text(item)}" for key, item in value.items())
    return str(value)


def _json_text(text: str) -> str | None:
    """A JSON array or object kept as text (a cache's cart) reads like one stored as such."""
    if not text.startswith(("[", "{")):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return value_text(parsed) if isinstance(parsed, list | dict) else None
