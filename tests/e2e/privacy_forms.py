"""What the privacy-center form tests share: the CSRF token of a page, the code from the consumer's mailbox, the
request a status link belongs to."""

from __future__ import annotations

import re

import sqlalchemy as sa

from devtools.localstack import MailServer
from services.common.crypto import keyed_hash
from services.common.settings import decode_key
from tests.e2e.demo_world import World
from tests.support import wait_for

CODE_IN_SUBJECT = re.compile(r": ([0-9]{6})$")
CSRF_FIELD = re.compile(r'name="csrftoken" value="([^"]+)"')


def csrf_of(page: str) -> str:
    found = CSRF_FIELD.search(page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def code_mails(mail_server: MailServer, email: str, count: int = 1) -> list[str]:
    """The codes sent to `email`, newest first, once at least `count` have arrived."""

    def arrived() -> list[str] | None:
        codes = [match.group(1) for mail in mail_server.messages(to=email)
                 if (match := CODE_IN_SUBJECT.search(mail.subject))]  # fmt: skip
        return codes if len(codes) >= count else None

    return wait_for(arrived, timeout=30, what=f"{count} code e-mail(s)")


def request_of_status(world: World, status_path: str) -> str:
    """The request id a /privacy/status/{token} link is for (read as intake stores it: a keyed hash of the token)."""
    token = status_path.rsplit("/", 1)[-1]
    secret = decode_key(world.pipeline.secrets["CCPA_SUBJECT_KEY_SECRET"], "CCPA_SUBJECT_KEY_SECRET")
    engine = sa.create_engine(world.pipeline.config.intake_db_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(sa.text("SELECT request_id FROM status_links WHERE token_hash = :hash"),
                                 {"hash": keyed_hash(secret, "status-link", token)}).scalar_one()  # fmt: skip
    finally:
        engine.dispose()
    return str(found)


def intake_rows(world: World, query: str, **params: str) -> list[sa.Row[tuple[object, ...]]]:
    engine = sa.create_engine(world.pipeline.config.intake_db_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(query), params).all())
    finally:
        engine.dispose()
