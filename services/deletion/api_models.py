"""Deletion API's request and response bodies: legal holds, and the recipients of a request as an operator sees and
acts on them (validated by pydantic, documented in OpenAPI)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import UUID4, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.deletion.erasure.holds import HoldScope, LegalHold

# An operator's words, kept and shown: one to a few lines, no control characters but line breaks.
OperatorText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=500,
                                                pattern=r"^[^\x00-\x09\x0b\x0c\x0e-\x1f\x7f]*$")]  # fmt: skip
OneLine = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200,
                                           pattern=r"^[^\x00-\x1f\x7f]*$")]  # fmt: skip


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HoldRequest(BaseModel):
    reason: str = Field(min_length=5, max_length=500, description="Why the records must be kept; no PI")
    subject_key: str | None = Field(None, max_length=128)
    store: str | None = Field(None, max_length=200)
    placed_by: UUID4 | None = Field(None, description="The console account placing it")

    @model_validator(mode="after")
    def _scoped(self) -> HoldRequest:
        if not (self.subject_key or self.store):
            raise ValueError("a legal hold needs subject_key, store or both")
        return self


class Hold(BaseModel):
    hold_id: str
    reason: str
    subject_key: str | None
    store: str | None
    scope: HoldScope
    placed_at: AwareDatetime
    placed_by: str | None

    @classmethod
    def of(cls, hold: LegalHold) -> Hold:
        return cls(hold_id=hold.hold_id, reason=hold.reason, subject_key=hold.subject_key, store=hold.store,
                   scope=hold.scope, placed_at=hold.placed_at, placed_by=hold.placed_by)  # fmt: skip


class Holds(BaseModel):
    holds: list[Hold]


class HoldReleased(BaseModel):
    hold_id: str
    released: bool = Field(description="False when no active hold has that id (unknown, or released before)")


class ConfirmRequest(Strict):
    note: OperatorText = Field(description="How the recipient confirmed (kept; no PI: masked if any)")
    confirmation_id: OneLine | None = Field(None, description="The recipient's reference for it, if it gave one")
    confirmed_by: UUID4 | None = Field(None, description="The console account confirming it")


class ResendRequest(Strict):
    reason: OperatorText = Field(description="Why it is sent again (kept with the attempt; no PI)")


class AttemptSeen(BaseModel):
    """One send, poll, callback or operator action: no payload, no identifier."""

    channel: str
    step: str
    status_code: int | None
    detail: str
    at: AwareDatetime


class Attempts(BaseModel):
    count: int
    last: AttemptSeen | None


class RecipientInstruction(BaseModel):
    instruction_id: str
    recipient: str
    role: str
    kind: Literal["delete", "correct"]
    state: Literal["pending", "delivered", "confirmed", "failed", "manual", "not_notified"]
    deadline: AwareDatetime = Field(description="Confirm by")
    delivered_at: AwareDatetime | None
    confirmed_at: AwareDatetime | None
    confirmation_id: str | None
    reason: str | None = Field(description="not_notified: the §7022(b)(3) explanation; manual: what to do; "
                                           "failed: why")  # fmt: skip
    confirmation_note: str | None
    confirmed_by: str | None
    attempts: Attempts
    may_confirm: bool = Field(description="An operator may record its confirmation (manual, or failed)")
    may_resend: bool = Field(description="An operator may send it again (failed with its identifiers still held) "
                                         "or ask again now (pending, delivered)")  # fmt: skip


class RequestRecipients(BaseModel):
    request_id: str
    stage: str = Field(description="Where the request's deletion or correction stands: ... answering, complete")
    recipients: list[RecipientInstruction]
