"""The consumer-held status link: unguessable, stored only hashed, bound to one request, expiring."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from services.intake import orm
from services.intake.status_links import TOKEN_PATTERN, StatusLinkExpired, StatusLinks, StatusLinkUnknown

RECEIVED = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
SECRET = b"s" * 32


@pytest.fixture
def engine() -> sa.Engine:
    engine = sa.create_engine("sqlite://")
    orm.metadata.create_all(engine, tables=[orm.status_links])
    return engine


def test_a_link_resolves_to_its_request_until_it_expires(engine: sa.Engine) -> None:
    links = StatusLinks(SECRET, "https://privacy.example.com/", timedelta(days=120))
    with engine.begin() as conn:
        link = links.issue(conn, "req-1", RECEIVED)
    assert link.expires_at == RECEIVED + timedelta(days=120)
    assert links.url(link.token) == f"https://privacy.example.com/privacy/status/{link.token}"
    assert re.fullmatch(TOKEN_PATTERN.strip("^$"), link.token)
    with engine.connect() as conn:
        assert links.resolve(conn, link.token, RECEIVED + timedelta(days=119)) == "req-1"
        with pytest.raises(StatusLinkExpired):
            links.resolve(conn, link.token, RECEIVED + timedelta(days=120))
        with pytest.raises(StatusLinkUnknown):
            links.resolve(conn, link.token[:-1] + ("A" if link.token[-1] != "A" else "B"), RECEIVED)


def test_only_a_keyed_hash_of_the_token_is_stored(engine: sa.Engine) -> None:
    links = StatusLinks(SECRET, "http://127.0.0.1:8000", timedelta(days=120))
    with engine.begin() as conn:
        first = links.issue(conn, "req-1", RECEIVED)
        second = links.issue(conn, "req-1", RECEIVED)
    assert first.token != second.token
    with engine.connect() as conn:
        stored = [tuple(row) for row in conn.execute(sa.select(orm.status_links))]
    assert all(first.token not in str(row) and second.token not in str(row) for row in stored)
    other = StatusLinks(b"t" * 32, "http://127.0.0.1:8000", timedelta(days=120))
    with engine.connect() as conn, pytest.raises(StatusLinkUnknown):
        other.resolve(conn, first.token, RECEIVED)  # a link is worth nothing without the service's secret
