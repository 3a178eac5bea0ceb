"""Pure logic of the OpenSearch store: which document field a data-map field is matched on, and the query.

An identifying field is matched exactly on a keyword field: the field itself when it is mapped `keyword`, else its
`keyword` subfield (a dynamic mapping's `text` + `.keyword`). Values arrive normalised (emails trimmed and
lower-case). When the keyword field has a normaliser (e.g. `{"type": "custom", "filter": ["lowercase"]}`) OpenSearch
applies it to indexed values and to the terms of the query alike, so one `terms` query matches any case. Without a
normaliser an email is matched with `term` queries marked `case_insensitive`; other kinds are matched as stored.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_CLAUSES = 500  # below indices.query.bool.max_clause_count (1024) with room for a few fields
CASE_FOLDED_KINDS = frozenset({"email"})


@dataclass(frozen=True)
class MatchField:
    """Where the values of one data-map field are looked up in an index."""

    path: str  # the keyword field queried, e.g. "email" or "email.keyword"
    normalised: bool  # has a normaliser, so the terms query itself is case-insensitive as the normaliser is


class MappingProblem(ValueError):
    """The index mapping cannot serve an exact look-up of a field (text without a keyword subfield, absent)."""


def field_mapping(mappings: Mapping[str, Any], dotted: str) -> Mapping[str, Any] | None:
    """The mapping of `dotted` (a.b.c through `properties`) in one index's `mappings`, or None."""
    node: Mapping[str, Any] = mappings
    for part in dotted.split("."):
        node = (node.get("properties") or {}).get(part)  # type: ignore[assignment]
        if not isinstance(node, Mapping):
            return None
    return node


def match_field(mappings: Mapping[str, Any], name: str) -> MatchField:
    """The keyword field a data-map field is matched on; MappingProblem when there is none."""
    mapped = field_mapping(mappings, name)
    if mapped is None:
        raise MappingProblem(f"field {name} is not in the index mapping")
    if mapped.get("type") == "keyword":
        return MatchField(name, bool(mapped.get("normalizer")))
    for sub_name, sub in (mapped.get("fields") or {}).items():
        if isinstance(sub, Mapping) and sub.get("type") == "keyword":
            return MatchField(f"{name}.{sub_name}", bool(sub.get("normalizer")))
    if mapped.get("type") in ("long", "integer", "short", "byte", "unsigned_long", "ip"):
        return MatchField(name, True)  # exact by type; values are numbers or addresses, no case to fold
    raise MappingProblem(f"field {name} is mapped {mapped.get('type')!r} with no keyword subfield to match exactly")


def clauses(match: MatchField, kind: str, values: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Query clauses matching any of `values` on `match`, in chunks of at most MAX_CLAUSES values."""
    for start in range(0, len(values), MAX_CLAUSES):
        chunk = list(values[start : start + MAX_CLAUSES])
        if kind in CASE_FOLDED_KINDS and not match.normalised:
            yield {"bool": {"should": [{"term": {match.path: {"value": value, "case_insensitive": True}}}
                                       for value in chunk], "minimum_should_match": 1}}  # fmt: skip
        else:
            yield {"terms": {match.path: chunk}}


def any_of(shoulds: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A query matching a document that any clause matches (filter context: no scoring)."""
    return {"bool": {"filter": [{"bool": {"should": list(shoulds), "minimum_should_match": 1}}]}}


def queries(shoulds: Sequence[Mapping[str, Any]], limit: int = MAX_CLAUSES) -> Iterator[dict[str, Any]]:
    """`any_of` queries over `shoulds`, each with at most `limit` Lucene clauses (a `terms` clause counts as one,
    a case-insensitive group as one per value), so no query passes the engine's max_clause_count."""
    group: list[Mapping[str, Any]] = []
    weight = 0
    for should in shoulds:
        cost = len(should["bool"]["should"]) if "bool" in should else 1
        if group and weight + cost > limit:
            yield any_of(group)
            group, weight = [], 0
        group.append(should)
        weight += cost
    if group:
        yield any_of(group)


def flattened(source: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A document's fields by dotted name (objects flattened; a top-level dotted key kept as it is)."""
    flat: dict[str, Any] = {}
    for key, value in source.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flattened(value, f"{name}."))
        else:
            flat[name] = value
    return flat
