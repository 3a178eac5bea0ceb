"""The e2e world with every service, shared by the modules that only probe it from outside (one start per session)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.localstack import DatabaseServer, MailServer
from tests.e2e.demo_world import World, demo_world


@pytest.fixture(scope="session")
def full_world(kafka_bootstrap: str, postgres_server: DatabaseServer, redis_url: str, mail_server: MailServer,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:  # fmt: skip
    """intake, audit, discovery, deletion and optout with the demo company and both providers, intake's consumer
    e-mail going to the session's Mailpit; the tests that use it submit and read with subjects and ids of their own,
    so they can share it (the browser tests in tests/e2e/browser/ too: one stack per session)."""
    root = tmp_path_factory.mktemp("full-world")
    with demo_world(kafka_bootstrap, postgres_server, redis_url, root, 11, with_deletion=True, with_optout=True,
                    smtp_port=mail_server.smtp_port) as world:  # fmt: skip
        yield world
