"""Deletion's HTTP API: operations, legal holds (token) that keep a subject's or a store's records, and the receiver
of providers' signed confirmations (their signature is their credential)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Path
from pydantic import BaseModel, Field, model_validator

from services.common.auth import HoldsWriter
from services.common.http import service_app
from services.deletion.bootstrap import bootstrap
from services.deletion.providers.confirmations import callback_router
from services.deletion.settings import DeletionSettings


class HoldRequest(BaseModel):
    reason: str = Field(min_length=5, max_length=500, description="Why the records must be kept; no PI")
    subject_key: str | None = Field(None, max_length=128)
    store: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _scoped(self) -> HoldRequest:
        if not (self.subject_key or self.store):
            raise ValueError("a legal hold needs subject_key, store or both")
        return self


def create_app(settings: DeletionSettings | None = None) -> FastAPI:
    settings = settings or DeletionSettings()
    deletion = bootstrap(settings)
    app = service_app(deletion, settings.credentials(), "CCPA deletion",
                      "Erases, de-identifies or retains per the data map in every store; instructs providers; "
                      "verifies by re-discovery.", "deletion store")  # fmt: skip
    app.include_router(callback_router(deletion.callbacks))

    @app.post("/v1/legal-holds", tags=["holds"], status_code=201)
    def place_hold(body: HoldRequest, _caller: HoldsWriter) -> dict[str, Any]:
        """Place a legal hold: deletion keeps the subject's (or the store's) records and reports them as exempt."""
        hold = deletion.ports.holds.place(body.reason, subject_key=body.subject_key, store=body.store)
        return {"hold_id": hold.hold_id, "reason": hold.reason, "subject_key": hold.subject_key, "store": hold.store}

    @app.delete("/v1/legal-holds/{hold_id}", tags=["holds"])
    def release_hold(hold_id: Annotated[str, Path(max_length=64)], _caller: HoldsWriter) -> dict[str, Any]:
        """Release a legal hold; later deletions proceed."""
        return {"hold_id": hold_id, "released": deletion.ports.holds.release(hold_id)}

    return app
