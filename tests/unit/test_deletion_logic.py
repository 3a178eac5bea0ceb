"""Pure deletion rules: what may remain after erasure, what the consumer is told, how recipients' states read."""

from __future__ import annotations

from datetime import UTC, datetime

from services.common.stores.base import FoundRecord
from services.deletion.erasure import Exemption, StoreOutcome
from services.deletion.notices import status_of
from services.deletion.providers.instructions import InstructionRow
from services.deletion.providers.model import State
from services.deletion.verification import response_summary, verify

APP = StoreOutcome(
    "app-db",
    {"customers": {"deleted": 1}, "orders": {"retained": 2, "deleted": 1}},
    (Exemption("orders", "legal_obligation", "§1798.105(d)(8): comply with a legal obligation", 2),),
)
CACHE = StoreOutcome("sessions", {"sessions": {"deleted": 1}})


def found(store: str, collection: str, count: int) -> list[FoundRecord]:
    return [FoundRecord(store, collection, f"{collection}:{n}", {}) for n in range(count)]


def test_records_kept_under_an_exemption_may_remain() -> None:
    check = verify(found("app-db", "orders", 2), [APP, CACHE])
    assert check.verified and check.remaining == {} and check.exempt_records == 2


def test_anything_beyond_the_kept_records_fails_verification() -> None:
    check = verify(found("app-db", "orders", 3) + found("app-db", "customers", 1) + found("sessions", "sessions", 1),
                   [APP, CACHE])  # fmt: skip
    assert not check.verified
    assert check.remaining == {("app-db", "orders"): 1, ("app-db", "customers"): 1, ("sessions", "sessions"): 1}


def test_answer_names_exemptions_confirmations_and_recipients_not_notified() -> None:
    outcome, summary = response_summary([APP, CACHE], True, ["mailer"], ["shipper"], {"adnet": "cannot link ids"})
    assert outcome == "complied_in_part"
    assert "deleted or de-identified 3 record(s)" in summary and "in 2 system(s)" in summary
    assert "kept 2 record(s)" in summary and "legal obligation" in summary
    assert "mailer confirmed" in summary and "shipper" in summary and "adnet: cannot link ids" in summary
    assert "a new search found nothing else" in summary


def test_full_compliance_when_nothing_is_kept_and_everyone_confirmed() -> None:
    assert response_summary([CACHE], True, ["mailer"], [], {})[0] == "complied"
    assert response_summary([CACHE], False, ["mailer"], [], {})[0] == "complied_in_part"


def row(recipient: str, state: State, delivered: bool = False, reason: str | None = None) -> InstructionRow:
    at = datetime(2026, 11, 27, tzinfo=UTC)
    return InstructionRow(f"i-{recipient}", "r", "s", "ref", recipient, "delete", state, None, None, None, reason, at,
                          1, 0, at if delivered else None, at if state is State.CONFIRMED else None, None)  # fmt: skip


def test_recipient_states_become_timeline_events_and_the_answer() -> None:
    status = status_of(
        [row("mailer", State.CONFIRMED, delivered=True), row("shipper", State.DELIVERED, delivered=True),
         row("adnet", State.NOT_NOTIFIED, reason="cannot link ids"), row("pay", State.MANUAL, reason="no endpoint")],
        {"mailer": "service_provider", "adnet": "third_party"},
    )  # fmt: skip
    assert status.confirmed == ["mailer"] and sorted(status.pending) == ["pay", "shipper"]
    assert status.not_notified == {"adnet": "cannot link ids"}
    kinds = [(kind, payload.recipient, getattr(payload, "outcome", None)) for kind, _, payload in status.events]
    assert ("ProviderConfirmed", "mailer", None) in kinds
    assert ("ProviderInstructed", "adnet", "not_notified") in kinds
    assert ("ProviderInstructed", "pay", "manual") in kinds
    assert ("ProviderInstructed", "shipper", "delivered") in kinds
