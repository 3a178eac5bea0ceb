"""The scan: sample every store of the data map, profile each field, and hold the result against the data map."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Protocol

from services.common.datamap.model import Collection, DataMap, Field, Store
from services.discovery.scanner.classify import classify
from services.discovery.scanner.content import destinations
from services.discovery.scanner.indexes import unindexed_lookups
from services.discovery.scanner.model import CollectionCoverage, Destination, ScanOptions, ScanResult, StoreCoverage
from services.discovery.scanner.profile import CollectionProfile
from services.discovery.scanner.samplers import Batch, Sampler, StoreUnreachable, open_sampler

PROVIDER_NOTE = "not scannable (provider)"


class ScanProgress(Protocol):
    def store_started(self, store: str, total: int | None, unit: str) -> None: ...

    def advanced(self, store: str, steps: int, collection: str) -> None: ...

    def store_finished(self, store: str) -> None: ...


class NoProgress:
    def store_started(self, store: str, total: int | None, unit: str) -> None:
        """Nothing to show."""

    def advanced(self, store: str, steps: int, collection: str) -> None:
        """Nothing to show."""

    def store_finished(self, store: str) -> None:
        """Nothing to show."""


def scan(datamap: DataMap, options: ScanOptions | None = None, *, source: str = "<data map>",
         progress: ScanProgress | None = None) -> ScanResult:  # fmt: skip
    """Scan every store; a store that cannot be reached is reported in its coverage and the others still scanned."""
    options = options or ScanOptions()
    result = ScanResult(source=source, started_at=datetime.now(UTC), options=options)
    began = time.perf_counter()
    sold_or_shared = destinations(datamap)
    for store in datamap.stores:
        bound = sold_or_shared.get(store.name, {})
        result.stores.append(scan_store(datamap, store, options, progress or NoProgress(), bound))
    result.seconds = time.perf_counter() - began
    return result


def scan_store(datamap: DataMap, store: Store, options: ScanOptions, progress: ScanProgress,
               bound: Mapping[str, Mapping[str, Destination]] | None = None) -> StoreCoverage:  # fmt: skip
    """One store; `bound` names the fields (per collection) it sells or shares, whose content is checked."""
    if store.kind == "http":
        return StoreCoverage(store.name, store.kind, scannable=False, note=PROVIDER_NOTE)
    began = time.perf_counter()
    profiles: dict[str, CollectionProfile] = {}
    try:
        sampler = open_sampler(datamap, store, options.sample_rows, options.redis_keys, options.log_lines)
    except ValueError as exc:
        error: str | None = str(exc)  # a URL the client library refuses
    else:
        error = _sample(store.name, sampler, profiles, progress, bound or {})
    if error is None:
        collections = _coverage(store, profiles, options, datamap)
    else:
        collections = _not_scanned(store, profiles, options)
    coverage = StoreCoverage(store.name, store.kind, error=error, collections=collections)
    coverage.seconds = time.perf_counter() - began
    return coverage


def _sample(store: str, sampler: Sampler, profiles: dict[str, CollectionProfile], progress: ScanProgress,
            bound: Mapping[str, Mapping[str, Destination]]) -> str | None:  # fmt: skip
    try:
        progress.store_started(store, sampler.plan(), sampler.unit)
        for batch in sampler.batches():
            _absorb(profiles, batch, bound)
            progress.advanced(store, batch.steps, batch.collection)
    except StoreUnreachable as exc:
        return exc.reason
    finally:
        sampler.close()
        progress.store_finished(store)
    return None


def _absorb(profiles: dict[str, CollectionProfile], batch: Batch,
            bound: Mapping[str, Mapping[str, Destination]]) -> None:  # fmt: skip
    if batch.collection not in profiles:
        profiles[batch.collection] = CollectionProfile(batch.collection, bound.get(batch.collection))
    profile = profiles[batch.collection]
    profile.declare(batch.fields)
    profile.skipped.update(batch.skipped)
    profile.primary_key = batch.primary_key or profile.primary_key
    if batch.index_leads is not None:
        profile.index_leads, profile.case_insensitive = batch.index_leads, batch.case_insensitive
    profile.value_types.update(batch.value_types)
    profile.problems.extend(filter(None, [batch.problem]))
    profile.notes.extend(filter(None, [batch.note]))
    for record in batch.records:
        profile.observe(record)


def _coverage(store: Store, profiles: dict[str, CollectionProfile], options: ScanOptions,
              datamap: DataMap) -> list[CollectionCoverage]:  # fmt: skip
    covered = [_mapped_collection(store, collection, profiles.pop(collection.name, None), options, datamap)
               for collection in store.collections]  # fmt: skip
    unmapped = [_collection(store.name, profile, None, options) for _, profile in sorted(profiles.items())]
    return covered + unmapped


def _not_scanned(store: Store, profiles: dict[str, CollectionProfile],
                 options: ScanOptions) -> list[CollectionCoverage]:  # fmt: skip
    """What was sampled before the store stopped answering; the data map's other collections are listed unscanned."""
    names = {collection.name: collection for collection in store.collections}
    sampled = [_collection(store.name, profile, names.get(name), options) for name, profile in profiles.items()]
    unscanned = [CollectionCoverage(name, True, notes=["not scanned"]) for name in names if name not in profiles]
    return sampled + unscanned


def _mapped_collection(store: Store, collection: Collection, profile: CollectionProfile | None,
                       options: ScanOptions, datamap: DataMap) -> CollectionCoverage:  # fmt: skip
    if profile is None:
        profile = CollectionProfile(collection.name)
        profile.notes.append(_absent(store))
    missing = []
    for field in collection.fields:
        if _profiled_name(profile, field.name) is None:
            if store.kind == "sql":
                missing.append(field.name)
            else:
                profile.field(field.name)  # not seen in the sample: shown as mapped, nothing seen
    coverage = _collection(store.name, profile, collection, options)
    coverage.missing_fields = missing
    if profile.index_leads is not None and not collection.not_searched_reason:
        coverage.unindexed_lookups = unindexed_lookups(datamap, store, collection, profile.fields,
                                                       profile.index_leads, profile.case_insensitive)  # fmt: skip
    return coverage


def _collection(store: str, profile: CollectionProfile, mapped: Collection | None,
                options: ScanOptions) -> CollectionCoverage:  # fmt: skip
    coverage = CollectionCoverage(
        name=profile.name,
        in_datamap=mapped is not None,
        records=profile.records,
        value_type=profile.value_types.most_common(1)[0][0] if profile.value_types else None,
        primary_key=profile.primary_key,
        skipped_fields=sorted(profile.skipped),
        problems=profile.problems,
        notes=profile.notes,
    )
    for name, field_profile in profile.fields.items():
        coverage.fields.append(classify(store, profile.name, field_profile, _mapped_field(mapped, name), options))
    return coverage


def _mapped_field(collection: Collection | None, name: str) -> Field | None:
    if collection is None:
        return None
    return collection.field(name) or next((f for f in collection.fields if f.name.lower() == name.lower()), None)


def _profiled_name(profile: CollectionProfile, name: str) -> str | None:
    return next((known for known in profile.fields if known.lower() == name.lower()), None)


def _absent(store: Store) -> str:
    return {
        "sql": "table not found in the database",
        "redis": "no sampled key matches the key pattern",
        "jsonl": "no lines read",
    }.get(store.kind, "nothing sampled")
