"""Opt-out HTTP API: a subject's current consent state, the confirmation to show, and "may we ask?" (token)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI

from services.common.auth import ConsentReader
from services.common.events import utcnow
from services.common.http import service_app
from services.common.http_guard import SubjectKey
from services.optout import orm, rules
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
            request_id = request_of_version(conn, subject_key, state.version) if state.version else None
        return {**describe(subject_key, state, utcnow()), "request_id": request_id}

    return app


def request_of_version(conn: sa.Connection, subject_key: str, version: int) -> str | None:
    """The request whose change made this version of the state (None: a signal or product event made it), so a
    gate that stops a flow on it can put the evidence on that request's timeline."""
    query = (sa.select(orm.consent_history.c.request_id)
             .where(orm.consent_history.c.subject_key == subject_key, orm.consent_history.c.version == version,
                    orm.consent_history.c.changed.is_(True))
             .order_by(orm.consent_history.c.id).limit(1))  # fmt: skip
    found: str | None = conn.execute(query).scalar()
    return found


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
