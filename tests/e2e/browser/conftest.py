"""The privacy center in the browser: the session's browser (tests/browser.py) against the session's full_world."""

from __future__ import annotations

import pytest

from tests.browser import CHROMIUM_ARGS as CHROMIUM_ARGS
from tests.browser import SCREENSHOTS as SCREENSHOTS
from tests.browser import assert_accessible as assert_accessible
from tests.browser import chromium_path as chromium_path
from tests.browser import new_context as new_context
from tests.browser import shoot as shoot
from tests.e2e.demo_world import World


@pytest.fixture(scope="session")
def center(full_world: World) -> str:
    """The privacy center's base URL on the session's intake."""
    return f"{full_world.pipeline.intake.url}/privacy"
