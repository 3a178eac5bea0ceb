"""Console HTTP app: the privacy team's pages (sign-in required), over the other services' APIs."""

from __future__ import annotations

from fastapi import FastAPI

from services.common.http import service_app
from services.console.bootstrap import Console, bootstrap
from services.console.settings import ConsoleSettings
from services.console.web import install as pages


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    console: Console = bootstrap(settings)
    app = service_app(console, settings.credentials(), "CCPA console",
                      "The privacy team's console: queue, requests, dashboard, consent look-up.", "console store",
                      inner=pages.middleware(settings), page_prefix="/")  # fmt: skip
    app.state.console = console
    pages.install(app)
    return app
