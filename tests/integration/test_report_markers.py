"""The deletion worker reports each store outcome and provider event once per request, marking them in one
statement (INSERT … ON CONFLICT DO NOTHING RETURNING) on both of the services' databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from services.common.db import make_engine
from services.deletion import orm
from services.deletion.worker import DeletionWorker


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    if request.param == "postgresql":
        url = str(request.getfixturevalue("pg_url"))
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('markers') / 'deletion.db'}"
    built = make_engine(url)
    orm.metadata.create_all(built)
    yield built
    built.dispose()


def test_only_what_was_not_reported_comes_back_in_order(engine: sa.Engine) -> None:
    first = {("app-db#0", "StoreErased"): "app-db", ("sessions#0", "StoreErased"): "sessions",
             ("i-1", "ProviderInstructed"): "mailer instructed"}  # fmt: skip
    with engine.begin() as conn:
        assert DeletionWorker._unreported(conn, "r-1", first) == ["app-db", "sessions", "mailer instructed"]
    again = {("i-1#confirmed", "ProviderConfirmed"): "mailer confirmed", **first, ("web-logs#0", "StoreErased"): "logs"}
    with engine.begin() as conn:
        assert DeletionWorker._unreported(conn, "r-1", again) == ["mailer confirmed", "logs"]
        assert DeletionWorker._unreported(conn, "r-2", first) == ["app-db", "sessions", "mailer instructed"]
        assert DeletionWorker._unreported(conn, "r-2", {}) == []
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(orm.reported)) == 8


def test_a_rolled_back_step_reports_again(engine: sa.Engine) -> None:
    """The markers commit with the step's events: a step that fails before its commit leaves nothing marked."""
    keyed = {("app-db#0", "StoreErased"): "app-db"}
    with pytest.raises(RuntimeError), engine.begin() as conn:
        assert DeletionWorker._unreported(conn, "r-3", keyed) == ["app-db"]
        raise RuntimeError("the outbox write failed")
    with engine.begin() as conn:
        assert DeletionWorker._unreported(conn, "r-3", keyed) == ["app-db"]
