"""The privacy center in the browser: one Chromium for this package (tests/browser.py) against the session's
full_world. Package scope, not session: while Playwright's sync API runs it keeps an asyncio loop running in the main
thread, which would break every later test calling asyncio.run."""

from __future__ import annotations

import pytest

from tests.browser import CHROMIUM_ARGS as CHROMIUM_ARGS
from tests.browser import SCREENSHOTS as SCREENSHOTS
from tests.browser import assert_accessible as assert_accessible
from tests.browser import browser as browser
from tests.browser import chromium_path as chromium_path
from tests.browser import new_context as new_context
from tests.browser import page as page
from tests.browser import shoot as shoot
from tests.e2e.demo_world import World


@pytest.fixture(scope="session")
def center(full_world: World) -> str:
    """The privacy center's base URL on the session's intake."""
    return f"{full_world.pipeline.intake.url}/privacy"
