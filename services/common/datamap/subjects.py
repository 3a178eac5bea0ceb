"""Which part of the data map a request's walk covers: only the collections holding records of its subject type (a
job applicant's request searches and erases the applicant records, never the customer tables)."""

from __future__ import annotations

from services.common.datamap.model import DataMap, Store
from services.common.subject_types import SUBJECT_TYPE_LABELS, SubjectType


def for_subject_type(datamap: DataMap, subject_type: str) -> DataMap:
    """The data map narrowed to the collections whose `subject_types` include `subject_type`; a store left with
    none is dropped. The map itself when nothing is left out (every consumer request of a consumer-only map)."""
    kind = SubjectType(subject_type)
    stores = tuple(narrowed for store in datamap.stores if (narrowed := _store_for(store, kind)) is not None)
    if stores == datamap.stores:
        return datamap
    return datamap.model_copy(update={"stores": stores})


def _store_for(store: Store, kind: SubjectType) -> Store | None:
    kept = tuple(collection for collection in store.collections if kind.value in collection.subject_types)
    if kept == store.collections:
        return store
    return store.model_copy(update={"collections": kept}) if kept else None


def left_out(datamap: DataMap, subject_type: str) -> list[str]:
    """`store.collection` of every collection a request of this type does not search, in data-map order."""
    kind = SubjectType(subject_type)
    return [f"{store.name}.{collection.name}" for store in datamap.stores for collection in store.collections
            if kind.value not in collection.subject_types]  # fmt: skip


def searched_records_label(subject_type: str) -> str:
    """What a report tells the person about the records searched: 'records we hold about you as a job applicant'."""
    label = SUBJECT_TYPE_LABELS[SubjectType(subject_type)]
    return f"records we hold about you as {'an' if label[0] in 'aeiou' else 'a'} {label}"
