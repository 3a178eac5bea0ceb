"""Build the right-to-know report of one request from discovery's findings: period, categories, pieces, redaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime

from services.common.datamap import DataMap
from services.common.datamap.subjects import searched_records_label
from services.common.stores.base import FoundRecord
from services.common.subject_types import SubjectType
from services.discovery.report import specifics, summarise
from services.discovery.report.model import (
    NotSearched,
    Period,
    Report,
    ReportRequest,
    SearchedStore,
    StoreOutcome,
)
from services.discovery.report.specifics import Located
from services.discovery.report.texts import plural
from services.discovery.report.values import canonical, normalise

NOT_SEARCHED = "This system was not searched for this request."
UNAVAILABLE = "This system could not be reached when we searched; information it holds is not in this report."
Outcomes = Mapping[str, StoreOutcome | tuple[str, int]]


def build_report(
    datamap: DataMap,
    records: Sequence[FoundRecord],
    request: ReportRequest,
    store_outcomes: Outcomes,
) -> Report:
    """The report for a know request; know_categories carries no specific piece, §7024(d) values never appear."""
    period = covered_period(datamap, request)
    everything = [specifics.locate(datamap, record) for record in distinct(records)]
    located = [item for item in everything if within(item.record, period)]
    held = [field for item in located for field in item.held()]
    outcomes = checked_outcomes(datamap, store_outcomes)
    specific = request.request_type == "know_specific"
    found = summarise.categories(held)
    searched = searched_stores(datamap, outcomes, located)
    return Report(
        request_id=request.request_id,
        request_type=request.request_type,
        business=datamap.business,
        received_at=request.received_at.astimezone(UTC),
        generated_at=request.generated_at.astimezone(UTC),
        period=period,
        summary=summary(specific, len(searched), period, len(located), len(found))
        + unreachable(outcomes)
        + records_searched(request.subject_type),
        categories=found,
        sources=summarise.origins(held, "sources"),
        purposes=summarise.origins(held, "purposes"),
        recipients=summarise.recipients(datamap, held),
        searched=searched,
        not_searched=not_searched(datamap, outcomes),
        withheld=specifics.withheld(datamap, located) if specific else (),
        specific_pieces=specifics.stores(datamap, located, specifics.scrubber(everything)) if specific else (),
        record_count=len(located),
    )


def covered_period(datamap: DataMap, request: ReportRequest) -> Period:
    """The requested range, never before the data map's collected_since (§1798.130(a)(2)(B): back to 2022-01-01)."""
    floor = datamap.collected_since
    start = max(request.date_range_start or floor, floor)
    end = request.date_range_end or request.generated_at.astimezone(UTC).date()
    if end < start:
        raise ValueError(f"date range ends on {end} before it starts on {start} "
                         f"(the start is never earlier than {floor}, when collection began)")  # fmt: skip
    return Period(start, end)


def within(record: FoundRecord, period: Period) -> bool:
    """Records without a timestamp are current profile data and always count."""
    if record.occurred_at is None:
        return True
    day = _utc_date(record.occurred_at)
    return period.start <= day <= period.end


def distinct(records: Sequence[FoundRecord]) -> Iterator[FoundRecord]:
    """The same record reached twice by the walk (by email and by account id) is reported once."""
    seen: set[tuple[str, ...]] = set()
    for record in records:
        moment = record.occurred_at.isoformat() if record.occurred_at else ""
        key = (record.store, record.collection, record.locator, moment, canonical(normalise(record.values)))
        if key not in seen:
            seen.add(key)
            yield record


def checked_outcomes(datamap: DataMap, outcomes: Outcomes) -> dict[str, StoreOutcome]:
    """One outcome per store; a store whose every collection is kept out of the search (§7024(c)) is not searched."""
    unknown = sorted(set(outcomes) - {store.name for store in datamap.stores})
    if unknown:
        raise ValueError(f"search outcomes for stores the data map does not describe: {', '.join(unknown)}")
    checked: dict[str, StoreOutcome] = {}
    for store in datamap.stores:
        given = outcomes.get(store.name)
        if all(collection.not_searched_reason for collection in store.collections):
            checked[store.name] = StoreOutcome("not_searched")
        elif given is None:
            raise ValueError(f"no search outcome for store {store.name!r}; expected found, none or not_searched")
        else:
            checked[store.name] = given if isinstance(given, StoreOutcome) else StoreOutcome(*given)
    return checked


def searched_stores(
    datamap: DataMap, outcomes: Mapping[str, StoreOutcome], located: Sequence[Located]
) -> tuple[SearchedStore, ...]:
    """Counts come from the records in the period, so a store whose records all fall outside it reads 'none'."""
    counts = Counter(item.store.name for item in located)
    return tuple(
        SearchedStore(store.name, store.description, "found" if counts[store.name] else "none", counts[store.name])
        for store in datamap.stores
        if outcomes[store.name].status in ("found", "none")
    )


def not_searched(datamap: DataMap, outcomes: Mapping[str, StoreOutcome]) -> tuple[NotSearched, ...]:
    """§7024(c): each collection kept out of the search, with the reason, and any store skipped or unreachable."""
    listed: list[NotSearched] = []
    for store in datamap.stores:
        status = outcomes[store.name].status
        if status == "unavailable":
            listed.append(NotSearched(store.name, None, store.description, UNAVAILABLE))
            continue
        skipped = status == "not_searched"
        if skipped and not any(collection.not_searched_reason for collection in store.collections):
            listed.append(NotSearched(store.name, None, store.description, NOT_SEARCHED))
            continue
        listed.extend(
            NotSearched(store.name, c.name, c.description, c.not_searched_reason or NOT_SEARCHED)
            for c in store.collections
            if c.not_searched_reason or skipped
        )
    return tuple(listed)


def summary(specific: bool, searched: int, period: Period, records: int, categories: int) -> str:
    stores = plural(searched, "store")
    span = f"the period {period.start.isoformat()} to {period.end.isoformat()}"
    if records == 0 or (categories == 0 and not specific):
        return f"We searched {stores} and hold no personal information about you in {span}."
    kinds = plural(categories, "category", "categories")
    if not specific:
        return f"We searched {stores} and found personal information about you in {kinds} in {span}."
    with_kinds = f", with personal information in {kinds}" if categories else ""
    return f"We searched {stores} and found {plural(records, 'record')} about you in {span}{with_kinds}."


def records_searched(subject_type: str) -> str:
    """Which kind of records were searched, said when they are not a customer's (a job applicant's request)."""
    if subject_type == SubjectType.CONSUMER:
        return ""
    return f" We searched the {searched_records_label(subject_type)}, and no other records."


def unreachable(outcomes: Mapping[str, StoreOutcome]) -> str:
    count = sum(outcome.status == "unavailable" for outcome in outcomes.values())
    return f" {plural(count, 'system')} could not be reached, so this report may be incomplete." if count else ""


def _utc_date(moment: datetime) -> date:
    return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()
