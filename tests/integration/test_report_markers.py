"""The deletion worker reports each store outcome and provider event once per request, marking them in one
statement (INSERT … ON CONFLICT DO NOTHING RETURNING) on both of the services' databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.deletion import orm
from services.deletion.jobs import unreported

pytestmark = pytest.mark.integration


def test_only_what_was_not_reported_comes_back_in_order(deletion_db: sa.Engine) -> None:
    first = {("app-db#0", "StoreErased"): "app-db", ("sessions#0", "StoreErased"): "sessions",
             ("i-1", "ProviderInstructed"): "mailer instructed"}  # fmt: skip
    with deletion_db.begin() as conn:
        assert unreported(conn, "r-1", first) == ["app-db", "sessions", "mailer instructed"]
    again = {("i-1#confirmed", "ProviderConfirmed"): "mailer confirmed", **first, ("web-logs#0", "StoreErased"): "logs"}
    with deletion_db.begin() as conn:
        assert unreported(conn, "r-1", again) == ["mailer confirmed", "logs"]
        assert unreported(conn, "r-2", first) == ["app-db", "sessions", "mailer instructed"]
        assert unreported(conn, "r-2", {}) == []
    with deletion_db.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(orm.reported)) == 8


def test_a_rolled_back_step_reports_again(deletion_db: sa.Engine) -> None:
    """The markers commit with the step's events: a step that fails before its commit leaves nothing marked."""
    keyed = {("app-db#0", "StoreErased"): "app-db"}
    with pytest.raises(RuntimeError), deletion_db.begin() as conn:
        assert unreported(conn, "r-3", keyed) == ["app-db"]
        raise RuntimeError("the outbox write failed")
    with deletion_db.begin() as conn:
        assert unreported(conn, "r-3", keyed) == ["app-db"]
