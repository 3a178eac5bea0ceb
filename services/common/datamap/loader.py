"""Read and validate a data map file; every mistake is reported with the file, a readable path and what was expected."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from services.common.datamap.flows import check_flows
from services.common.datamap.model import Collection, DataMap, Store

ENV_REFERENCE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}")


class DataMapError(ValueError):
    """The data map is not valid; `problems` lists each mistake as 'path: what is wrong'."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        listed = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{source}: invalid data map ({len(problems)} problem(s)):\n{listed}")


def load_datamap(path: str | Path, env: Mapping[str, str] | None = None) -> DataMap:
    """Load a YAML data map; `${VAR}` and `${VAR:-default}` in strings come from the environment."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DataMapError(source, [f"cannot read the file: {exc.strerror}"]) from exc
    return parse_datamap(text, source, env)


def parse_datamap(text: str, source: str = "<data map>", env: Mapping[str, str] | None = None) -> DataMap:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DataMapError(source, [f"not valid YAML: {exc}"]) from exc
    if not isinstance(raw, dict):
        raise DataMapError(source, ["expected a mapping with `business` and `stores` at the top level"])
    environment = os.environ if env is None else env
    problems: list[str] = []
    expanded = _expand(raw, environment, problems, "")
    if problems:
        raise DataMapError(source, problems)
    try:
        datamap = DataMap.model_validate(expanded)
    except ValidationError as exc:
        raise DataMapError(source, [_describe(error, expanded) for error in exc.errors()]) from None
    problems = list(cross_check(datamap))
    if problems:
        raise DataMapError(source, problems)
    return datamap


def cross_check(datamap: DataMap) -> Iterator[str]:
    """Checks that need the whole map: unique names, references, recipients, reachable collections."""
    yield from _duplicates("stores", [s.name for s in datamap.stores])
    yield from _duplicates("recipients", [r.name for r in datamap.recipients])
    known_kinds = {
        kind
        for store in datamap.stores
        for collection in store.collections
        for field in collection.fields
        if (kind := datamap.identifier_kind(store, collection, field))
    }
    for store in datamap.stores:
        yield from _check_store(datamap, store, known_kinds)
    yield from check_flows(datamap)


def _check_store(datamap: DataMap, store: Store, known_kinds: set[str]) -> Iterator[str]:
    where = f"stores[{store.name}]"
    yield from _duplicates(f"{where}.collections", [c.name for c in store.collections])
    if store.recipient and datamap.recipient(store.recipient) is None:
        yield f"{where}.recipient: no recipient named {store.recipient!r} in `recipients`"
    if store.auth and store.auth.type == "bearer" and not store.auth.token_env:
        yield f"{where}.auth.token_env: bearer auth needs the environment variable that holds the token"
    for collection in store.collections:
        at = f"{where}.collections[{collection.name}]"
        names = [f.name for f in collection.fields]
        yield from _duplicates(f"{at}.fields", names)
        for column in (*collection.primary_key, *filter(None, [collection.timestamp_field])):
            if column not in names:
                yield f"{at}: {column!r} is not one of its fields ({', '.join(names)})"
        for kind in collection.key_kinds():
            if kind not in known_kinds:
                yield f"{at}.key_pattern: identifier kind {kind!r} is identified by no field in the data map"
        searchable = bool(collection.key_kinds()) or any(
            datamap.identifier_kind(store, collection, field) for field in collection.fields
        )
        if not searchable and not collection.not_searched_reason:
            yield (f"{at}: no field `identifies` a subject or `references` one, so it cannot be searched; "
                   "add one, or give `not_searched_reason` (§7024(c))")  # fmt: skip
        for field in collection.fields:
            yield from _check_field(datamap, store, field, f"{at}.fields[{field.name}]")
        yield from _check_flags(datamap, store, collection, f"{at}.opt_out_flags")


def _check_flags(datamap: DataMap, store: Store, collection: Collection, at: str) -> Iterator[str]:
    """A system of record's flag columns are fields of its table, and some field finds the consumer's rows."""
    if collection.opt_out_flags is None:
        return
    names = [f.name for f in collection.fields]
    for flag, column in collection.opt_out_flags.columns().items():
        if column not in names:
            yield f"{at}.{flag}: {column!r} is not one of its fields ({', '.join(names)})"
    if not any(datamap.identifier_kind(store, collection, field) for field in collection.fields):
        yield f"{at}: no field `identifies` a subject or `references` one, so no consumer's row can be found to flag"


def _check_field(datamap: DataMap, store: Store, field: Any, at: str) -> Iterator[str]:
    if field.references:
        target = datamap.resolve_reference(store, field.references)
        if target is None:
            yield f"{at}.references: {field.references!r} names no field (expected table.field or store.table.field)"
        elif not target.identifies:
            yield f"{at}.references: {field.references!r} does not `identify` a kind, so it cannot be followed"
        elif not field.one_way and _shared_target(datamap, store, field.references):
            yield (f"{at}.references: {field.references!r} is in a `shared` collection; give `one_way: true`, or "
                   "searching this field would reach everyone who references the same row")  # fmt: skip
    for relation in ("disclosed_to", "sold_to", "shared_to"):
        for name in getattr(field, relation):
            if datamap.recipient(name) is None:
                yield f"{at}.{relation}: no recipient named {name!r} in `recipients`"
    if (field.sold_to or field.shared_to or field.disclosed_to) and field.category is None:
        yield f"{at}: disclosed, sold or shared, so it is personal information and needs a `category`"


def _shared_target(datamap: DataMap, store: Store, reference: str) -> bool:
    parts = reference.split(".")
    target_store = datamap.store(parts[0]) if len(parts) == 3 else store
    collection = target_store.collection(parts[-2]) if target_store else None
    return bool(collection and collection.shared)


def _duplicates(where: str, names: list[str]) -> Iterator[str]:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            yield f"{where}: {name!r} appears more than once"
        seen.add(name)


def _expand(value: Any, env: Mapping[str, str], problems: list[str], path: str) -> Any:
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            problems.append(f"{path or '<root>'}: environment variable {name} is not set (and no ${{{name}:-default}})")
            return ""

        return ENV_REFERENCE.sub(substitute, value)
    if isinstance(value, dict):
        return {key: _expand(item, env, problems, f"{path}.{key}" if path else str(key)) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand(item, env, problems, f"{path}[{_name_or(item, index)}]") for index, item in enumerate(value)]
    return value


def _name_or(item: Any, index: int) -> Any:
    return item.get("name") or index if isinstance(item, dict) else index


def _describe(error: Any, raw: Any) -> str:
    """Turn pydantic's location tuple into stores[app-db].collections[users].fields[email].category."""
    parts: list[str] = []
    node = raw
    for step in error["loc"]:
        if isinstance(step, int):
            item = node[step] if isinstance(node, list) and step < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            parts[-1] = f"{parts[-1]}[{name if name else step}]" if parts else f"[{step}]"
            node = item
        else:
            parts.append(str(step))
            node = node.get(step) if isinstance(node, dict) else None
    where = ".".join(parts) or "<root>"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "literal_error":
        message = f"got {error.get('input')!r}; {message[0].lower()}{message[1:]}"
    elif error["type"] == "extra_forbidden":
        message = "unknown key (check the spelling; see docs/datamap.md)"
    return f"{where}: {message}"
