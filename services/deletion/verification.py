"""Pure rules after erasure: what may remain (exempt or held records), what may not, and what the consumer is told."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.common.stores.base import FoundRecord
from services.deletion.erasure import StoreOutcome

KEPT_ACTIONS = ("retained", "held")


@dataclass(frozen=True)
class Verification:
    verified: bool
    remaining: dict[tuple[str, str], int]  # (store, collection) → records found that no exemption covers
    exempt_records: int


def verify(found: Iterable[FoundRecord], outcomes: Sequence[StoreOutcome]) -> Verification:
    """Records a fresh walk still finds are allowed only up to what the erasure kept (retained or held)."""
    kept: Counter[tuple[str, str]] = Counter()
    for outcome in outcomes:
        for collection, actions in outcome.counts.items():
            kept[(outcome.store, collection)] += sum(actions.get(action, 0) for action in KEPT_ACTIONS)
    seen = Counter((record.store, record.collection) for record in found)
    remaining = {key: count - kept[key] for key, count in seen.items() if count > kept[key]}
    exempt = sum(min(count, kept[key]) for key, count in seen.items())
    return Verification(not remaining, remaining, exempt)


def store_records(outcome: StoreOutcome) -> int:
    """Records erased or de-identified in a store."""
    return outcome.total("deleted") + outcome.total("deidentified")


def response_summary(outcomes: Sequence[StoreOutcome], verified: bool, confirmed: Sequence[str],
                     pending: Sequence[str], not_notified: Mapping[str, str]) -> tuple[str, str]:  # fmt: skip
    """(outcome, summary): what the consumer is told about how the request was complied with (§7022)."""
    erased = sum(store_records(outcome) for outcome in outcomes)
    exempt = [item for outcome in outcomes for item in outcome.exempt]
    parts = [f"We deleted or de-identified {erased} record(s) about you in {len(outcomes)} system(s)"]
    if exempt:
        kept = "; ".join(sorted({f"{item.collection}: {item.reason}" for item in exempt}))
        parts.append(f"we kept {sum(item.records for item in exempt)} record(s) as the law allows ({kept})")
    parts += recipient_parts(confirmed, pending, not_notified, "confirmed deletion",
                             "have been or are being instructed to delete and have not confirmed yet")  # fmt: skip
    parts.append("a new search found nothing else" if verified else "a new search still found records; we continue")
    in_part = bool(exempt) or bool(not_notified) or not verified
    return ("complied_in_part" if in_part else "complied"), "; ".join(parts) + "."


def correction_summary(done: Sequence[Any], unknown: Sequence[str], verified: bool, confirmed: Sequence[str],
                       pending: Sequence[str], not_notified: Mapping[str, str]) -> tuple[str, str]:  # fmt: skip
    """(outcome, summary) of a correct request: fields and counts, never the values (§7023(j), §7024(d))."""
    labels = sorted({item.label for item in done if item.records})
    records = sum(item.records for item in done)
    systems = len({item.store for item in done if item.records})
    parts = [f"We corrected your {', '.join(labels) or 'information'} in {records} record(s) in {systems} system(s)"
             if records else "We found no record holding the information you asked us to correct"]  # fmt: skip
    if unknown:
        parts.append(f"we hold no {', '.join(unknown)} about you")
    parts += recipient_parts(confirmed, pending, not_notified, "confirmed the correction",
                             "have been instructed to correct it and have not confirmed yet")  # fmt: skip
    parts.append("we will keep it corrected" if verified else "the corrected value did not hold; we continue")
    in_part = bool(unknown) or bool(not_notified) or not verified or not records
    return ("complied_in_part" if in_part else "complied"), "; ".join(parts) + "."


def recipient_parts(confirmed: Sequence[str], pending: Sequence[str], not_notified: Mapping[str, str],
                    confirmed_what: str, pending_what: str) -> list[str]:  # fmt: skip
    """What the summary says of the recipients: who confirmed, who is instructed and has not, who was not notified."""
    parts = [f"{', '.join(confirmed)} {confirmed_what}"] if confirmed else []
    if pending:
        parts.append(f"{', '.join(pending)} {pending_what}")
    return parts + [f"we did not notify {recipient}: {why}" for recipient, why in sorted(not_notified.items())]
