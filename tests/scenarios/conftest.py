"""The six enforcement cases of ../shared/reference/ccpa-requirements.md §7 as end-to-end scenarios, on one stack for
the session: the demo company (its data map registers the flows), every service, the reference downstream
subscriber and Mailpit. Each scenario uses subjects of its own, so they share it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.localstack import DatabaseServer, MailServer
from tests.e2e.demo_world import World, demo_world
from tests.scenarios.flows import ad_network as ad_network
from tests.scenarios.storefront import *  # noqa: F403  (the web fixtures: tag host, storefronts, browser)

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="session")
def scenario_world(kafka_bootstrap: str, postgres_server: DatabaseServer, redis_url: str, mail_server: MailServer,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:  # fmt: skip
    root = tmp_path_factory.mktemp("scenarios")
    with demo_world(kafka_bootstrap, postgres_server, redis_url, root, 14, with_deletion=True, with_optout=True,
                    smtp_port=mail_server.smtp_port) as world:  # fmt: skip
        yield world
