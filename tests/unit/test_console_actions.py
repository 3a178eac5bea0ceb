"""What the console puts on the record of a person's action."""

from __future__ import annotations

from services.common.contracts import NO_SUBJECT, check
from services.console.accounts.roles import Operator, Role
from services.console.actions import Accountability, Acted, Action, Result

WHO = Operator("00000000-0000-4000-8000-000000000001", "Pat Example", Role.OPERATOR)


def test_an_operators_words_reach_the_record_without_an_address_or_number_in_clear() -> None:
    said = "Jane (jane.doe@example.com, 415-555-0134) asked for the archive"
    payload = Accountability.event(WHO, Acted(Action.EXTENDED, Result.DONE, reason=said)).payload
    assert payload.reason is not None and "archive" in payload.reason
    assert "jane.doe@example.com" not in payload.reason and "415-555-0134" not in payload.reason


def test_the_record_names_the_account_by_id_alone_and_meets_its_contract() -> None:
    event = Accountability.event(WHO, Acted(Action.SIGNED_IN, Result.DONE))
    check(event)  # raises ContractBreach when the event breaks its rules
    assert event.subject_key == NO_SUBJECT and event.payload.actor_id == WHO.id
    assert "Pat" not in repr(event.payload)
