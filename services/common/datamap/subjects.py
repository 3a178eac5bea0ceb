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


def recipients_of(datamap: DataMap, subject_type: str) -> list[str]:
    """The recipients a deletion of this type's records instructs: every recipient for a consumer (as always); for
    another type those its collections disclose to (fields' disclosed_to, sold_to, shared_to, a provider's store)
    and its registered flows reach."""
    if SubjectType(subject_type) is SubjectType.CONSUMER:
        return [recipient.name for recipient in datamap.recipients]
    narrowed = for_subject_type(datamap, subject_type)
    named = {store.recipient for store in narrowed.stores if store.recipient}
    named |= {name for store in narrowed.stores for collection in store.collections for field in collection.fields
              for name in (*field.disclosed_to, *field.sold_to, *field.shared_to)}  # fmt: skip
    named |= {flow.recipient for flow in datamap.flows if subject_type in flow.subject_types}
    return [recipient.name for recipient in datamap.recipients if recipient.name in named]


def searched_records_label(subject_type: str) -> str:
    """What a report tells the person about the records searched: 'records we hold about you as a job applicant'."""
    label = SUBJECT_TYPE_LABELS[SubjectType(subject_type)]
    return f"records we hold about you as {'an' if label[0] in 'aeiou' else 'a'} {label}"
