"""Opt-out HTTP API: a subject's current consent state, the confirmation to show, and "may we ask?" (token)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import FastAPI

from services.common.auth import ConsentReader
from services.common.events import utcnow
from services.common.http import service_app
from services.common.http_guard import SubjectKey
from services.optout import rules
from services.optout.bootstrap import bootstrap
from services.optout.handlers import load_state, state_fields
from services.optout.settings import OptoutSettings


def create_app(settings: OptoutSettings | None = None) -> FastAPI:
    settings = settings or OptoutSettings()
    optout = bootstrap(settings)
    app = service_app(optout, settings.credentials(), "CCPA opt-out",
                      "Consent state per subject: sale/sharing opt-outs, limits, GPC, GPP/USP strings.",
                      "consent store")  # fmt: skip

    @app.get("/v1/consent/{subject_key}", tags=["consent"])
    def consent(subject_key: SubjectKey, _caller: ConsentReader) -> dict[str, Any]:
        """Current state of one subject, with the text a site must show and whether it may ask to opt back in."""
        with optout.runtime.engine.connect() as conn:
            state = load_state(conn, subject_key) or rules.ConsentState()
        return describe(subject_key, state, utcnow())

    return app


def describe(subject_key: str, state: rules.ConsentState, now: datetime) -> dict[str, Any]:
    payload = state_fields(state)
    may_ask = state.may_ask_after is None or now >= state.may_ask_after
    return {
        "subject_key": subject_key, "known": state.version > 0, **_jsonable(payload),
        "confirmation": rules.confirmation_text(state),
        "may_ask_to_opt_in": may_ask and not (state.under_16 and not state.opted_in_by_consumer),
    }  # fmt: skip


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in payload.items()}
