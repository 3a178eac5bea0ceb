"""Deletion's HTTP API: operations, legal holds (token) that keep a subject's or a store's records, a request's
recipients (read, confirmed by hand, re-sent), and the receiver of providers' signed confirmations (their signature
is their credential)."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Path, Query, Request, status
from fastapi.responses import JSONResponse

from services.common.auth import HoldsWriter, RecipientsWriter, RequestsReader
from services.common.http import service_app
from services.common.http_guard import UUID_PATTERN, RequestId, problems
from services.deletion.api_models import (
    ConfirmRequest,
    Hold,
    HoldReleased,
    HoldRequest,
    Holds,
    RecipientInstruction,
    RequestRecipients,
    ResendRequest,
)
from services.deletion.bootstrap import bootstrap
from services.deletion.providers.confirmations import callback_router
from services.deletion.providers.model import OperatorRefused
from services.deletion.recipients import InstructionNotKnown, RequestNotKnown
from services.deletion.settings import DeletionSettings

InstructionId = Annotated[str, Path(pattern=UUID_PATTERN, description="An instruction id, as the recipients list it")]
NOT_FOUND = {
    RequestNotKnown: "deletion knows no request of that id (not a deletion or correction, or not arrived yet)",
    InstructionNotKnown: "this request has no recipient instruction of that id",
}


def create_app(settings: DeletionSettings | None = None) -> FastAPI:
    settings = settings or DeletionSettings()
    deletion = bootstrap(settings)
    app = service_app(deletion, settings.credentials(), "CCPA deletion",
                      "Erases, de-identifies or retains per the data map in every store; instructs providers; "
                      "verifies by re-discovery.", "deletion store")  # fmt: skip
    app.include_router(callback_router(deletion.callbacks))
    holds, recipients = deletion.ports.holds, deletion.recipients

    @app.get("/v1/legal-holds", tags=["holds"], response_model=Holds)
    def list_holds(_caller: HoldsWriter, subject_key: Annotated[str | None, Query(max_length=128)] = None,
                   store: Annotated[str | None, Query(max_length=200)] = None) -> Holds:  # fmt: skip
        """The active legal holds, those placed on exactly this subject key or store when given."""
        return Holds(holds=[Hold.of(hold) for hold in holds.active(subject_key, store)])

    @app.post("/v1/legal-holds", tags=["holds"], status_code=201, response_model=Hold)
    def place_hold(body: HoldRequest, _caller: HoldsWriter) -> Hold:
        """Place a legal hold: deletion keeps the subject's (or the store's) records and reports them as exempt."""
        placed_by = str(body.placed_by) if body.placed_by else None
        return Hold.of(holds.place(body.reason, subject_key=body.subject_key, store=body.store, placed_by=placed_by))

    @app.delete("/v1/legal-holds/{hold_id}", tags=["holds"], response_model=HoldReleased)
    def release_hold(hold_id: Annotated[str, Path(max_length=64)], _caller: HoldsWriter) -> HoldReleased:
        """Release a legal hold; later deletions proceed."""
        return HoldReleased(hold_id=hold_id, released=holds.release(hold_id))

    @app.get("/v1/requests/{request_id}/recipients", tags=["recipients"], response_model=RequestRecipients,
             responses=problems(404))  # fmt: skip
    def list_recipients(request_id: RequestId, _caller: RequestsReader) -> RequestRecipients:
        """Each recipient's instruction for this request: its state, deadline, attempts, and what an operator may do."""
        return recipients.of_request(request_id)

    @app.post("/v1/requests/{request_id}/recipients/{instruction_id}/confirm", tags=["recipients"],
              response_model=RecipientInstruction, responses=problems(404, 409))  # fmt: skip
    def confirm_recipient(request_id: RequestId, instruction_id: InstructionId, body: ConfirmRequest,
                          _caller: RecipientsWriter) -> RecipientInstruction:  # fmt: skip
        """Record a recipient's confirmation given by other means (manual, or failed), with the operator's note."""
        return recipients.confirm(request_id, instruction_id, body.note, body.confirmation_id, body.confirmed_by)

    @app.post("/v1/requests/{request_id}/recipients/{instruction_id}/resend", tags=["recipients"],
              response_model=RecipientInstruction, responses=problems(404, 409))  # fmt: skip
    def resend_recipient(request_id: RequestId, instruction_id: InstructionId, body: ResendRequest,
                         _caller: RecipientsWriter) -> RecipientInstruction:  # fmt: skip
        """Send a failed instruction again, or send (pending) or ask (delivered) now; the same idempotency key."""
        return recipients.resend(request_id, instruction_id, body.reason)

    @app.exception_handler(RequestNotKnown)
    @app.exception_handler(InstructionNotKnown)
    async def not_found(_request: Request, exc: LookupError) -> JSONResponse:
        return JSONResponse({"detail": NOT_FOUND[type(exc)]}, status_code=status.HTTP_404_NOT_FOUND)

    @app.exception_handler(OperatorRefused)
    async def refused(_request: Request, exc: OperatorRefused) -> JSONResponse:
        return JSONResponse({"detail": f"not done: {exc}"}, status_code=status.HTTP_409_CONFLICT)

    return app
