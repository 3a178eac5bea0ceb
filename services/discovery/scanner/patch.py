"""A suggested data-map patch: each unmapped PI field with the category to give it, and a `# review:` line saying
why, so a person decides. New tables and key patterns come as new collections. Never applied automatically.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from services.common.datamap.model import DataMap
from services.discovery.scanner.content import described, goes_to
from services.discovery.scanner.model import CollectionCoverage, FieldFinding, ScanResult, StoreCoverage
from services.discovery.scanner.samplers import KEY_FIELD

PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
RESERVED_WORDS = frozenset({"null", "true", "false", "yes", "no", "on", "off", "y", "n", "~"})


def suggested_patch(result: ScanResult, datamap: DataMap | None = None) -> str:
    """YAML text in the data map's shape, with comments; `identifies` only for kinds the data map already knows."""
    known = _known_kinds(datamap) if datamap else set()
    lines = [
        f"# Suggested data-map patch from `ccpa discover scan --datamap {result.source}`,",
        f"# scanned {result.started_at:%Y-%m-%d %H:%M} UTC.",
        "# Nothing here is applied: check each `# review:` line, then copy the entries into the data map.",
        "# Categories follow §1798.140(v); `withheld` marks §7024(d) kinds shown to the consumer only as held.",
    ]
    stores = [store for store in result.stores if any(_patched(c) for c in store.collections)]
    if not stores:
        return "\n".join([*lines, "# The scan found no unmapped personal information, and nothing sensitive in what is "
                          "sold or shared.", "stores: []", ""])  # fmt: skip
    lines.append("stores:")
    for store in stores:
        lines.extend(_store(store, known))
    return "\n".join(lines) + "\n"


def _store(store: StoreCoverage, known: set[str]) -> Iterator[str]:
    yield f"  - name: {_scalar(store.name)}"
    yield "    collections:"
    for collection in store.collections:
        findings = _patched(collection)
        if findings:
            yield from _collection(store, collection, findings, known)


def _collection(store: StoreCoverage, collection: CollectionCoverage, findings: list[FieldFinding],
                known: set[str]) -> Iterator[str]:  # fmt: skip
    if collection.in_datamap:
        yield f"      - name: {_scalar(collection.name)}  # existing collection: add or update these fields"
    else:
        yield from _new_collection(store, collection)
    key_findings = [finding for finding in findings if finding.field == KEY_FIELD]
    for finding in key_findings:
        yield (f"        # review: the key itself holds {finding.kinds[0]} ({_evidence(finding)}); "
               "name it in key_pattern as an identifier kind")  # fmt: skip
    fields = [finding for finding in findings if finding.field != KEY_FIELD]
    if fields:
        yield "        fields:"
        for finding in fields:
            yield from _field(finding, known)


def _new_collection(store: StoreCoverage, collection: CollectionCoverage) -> Iterator[str]:
    what = {"sql": "table", "redis": "key prefix"}.get(store.kind, "collection")
    if store.kind == "redis":
        prefix = collection.name.removesuffix("*")
        yield f"      - name: {_scalar(_collection_name(prefix.rstrip(':') or 'keys'))}"
        yield f"        # review: new {what} {collection.name!r}, not in the data map; name the identifier kind"
        yield f"        key_pattern: {_scalar(prefix + '{identifier_kind}')}"
        yield f"        value_type: {_value_type(collection)}"
        return
    yield f"      - name: {_scalar(collection.name)}"
    yield (f"        # review: new {what}, not in the data map; give a field `identifies` or `references`, "
           "or a `not_searched_reason`")  # fmt: skip
    if collection.primary_key:
        yield f"        primary_key: [{', '.join(_scalar(column) for column in collection.primary_key)}]"


def _field(finding: FieldFinding, known: set[str]) -> Iterator[str]:
    yield f"          - name: {_scalar(finding.field)}"
    if finding.status == "unmapped_pi":
        yield from _unmapped(finding, known)
    if finding.reveals_sensitive:
        yield from _revealing(finding)


def _revealing(finding: FieldFinding) -> Iterator[str]:
    """The content check's evidence and the two ways out: off the flow, or sensitive so a limit stops it."""
    content = finding.content
    assert content is not None
    shares = ", ".join(f"{r.matches} ({r.ratio:.1%}) {r.category}" for r in content.revealed)
    yield (f"            # review: content check: of {content.checked} sampled values, {shares} reveal sensitive "
           f"personal information, and the field is sold or shared: {goes_to(content)}")  # fmt: skip
    path = f"{finding.store}.{finding.collection}.{finding.field}"
    top = content.revealed[0].category
    if content.destination.flows:
        yield f"            # review: remove {path} from flow(s) {', '.join(content.destination.flows)}, or"
    if content.marked_sensitive == top:
        yield f"            # review: strip what reveals {described(top)} before it leaves (already sensitive: {top})"
        return
    yield f"            # review: mark it sensitive so a consumer's limit stops it ({described(top)}, §1798.140(ae)):"
    yield f"            sensitive: {top}"


def _unmapped(finding: FieldFinding, known: set[str]) -> Iterator[str]:
    suggestion = finding.suggestion
    assert suggestion is not None
    yield f"            # review: {_evidence(finding)}"
    if finding.note and finding.confidence != "low":  # a name-only finding already says so in its evidence
        yield f"            # review: {finding.note}"
    if suggestion.note:
        yield f"            # {suggestion.note}"
    yield f"            category: {suggestion.category}"
    if suggestion.sensitive:
        yield f"            sensitive: {suggestion.sensitive}"
    if suggestion.withheld:
        yield f"            withheld: {suggestion.withheld}"
    if suggestion.identifies and suggestion.identifies in known and not finding.in_text:
        yield f"            identifies: {suggestion.identifies}"


def _evidence(finding: FieldFinding) -> str:
    kind = finding.kinds[0]
    if finding.confidence == "low":
        return f"named like {kind}, {finding.sampled} value(s) sampled, no value format to confirm (confidence low)"
    detection = next(d for d in finding.detections if d.kind == kind and d.in_text == finding.in_text)
    how = "contain" if detection.in_text else "look like"
    return (f"{detection.matches} of {finding.sampled} sampled values ({detection.ratio:.0%}) {how} {kind} "
            f"(confidence {finding.confidence})")  # fmt: skip


def _patched(collection: CollectionCoverage) -> list[FieldFinding]:
    return [finding for finding in collection.fields if finding.status == "unmapped_pi" or finding.reveals_sensitive]


def _known_kinds(datamap: DataMap) -> set[str]:
    return {kind for store in datamap.stores for collection in store.collections for field in collection.fields
            if (kind := datamap.identifier_kind(store, collection, field))}  # fmt: skip


def _collection_name(prefix: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", prefix) if PLAIN.fullmatch(prefix[:1] or "_") else f"keys_{prefix}"


def _value_type(collection: CollectionCoverage) -> str:
    if collection.value_type == "hash":
        return "hash"
    members = {finding.field for finding in collection.fields} - {KEY_FIELD, "value"}
    return "json" if members or collection.value_type == "ReJSON-RL" else "string"


def _scalar(text: str) -> str:
    """Plain when YAML reads it back unchanged, else double-quoted (JSON strings are valid YAML)."""
    if PLAIN.fullmatch(text) and text.lower() not in RESERVED_WORDS:
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
