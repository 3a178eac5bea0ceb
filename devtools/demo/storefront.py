"""The demo storefront: a product site wired the way docs/flows.md tells a product team to wire the tag gate.
GpcMiddleware opts a GPC visitor out server-side (through intake, so a signed-in customer's CRM flags are set by
the opt-out service), TagDecisionMiddleware inlines the tag decisions into the page (`/`; `/live` leaves the call
to the gate in the browser), and the tags stay inert until the gate allows them. `--broken` is the Todd Snyder
variant: the middleware removed and the tags loaded directly.
Run it with `python -m devtools.demo.storefront --port 8095 --intake-url http://127.0.0.1:8000`.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from devtools.demo.storefront_page import TAG_FLOWS, Storefront, product_page
from services.optout.sdk import GpcMiddleware, TagDecisionMiddleware, from_endpoint

log = logging.getLogger(__name__)

VISITOR_COOKIE = "shop_visitor"
SESSION_COOKIE = "shop_session"
Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


class IntakeOptOut:
    """GpcMiddleware's recorder: the browser's signal as an opt-out request to intake (with Sec-GPC), so the opt-out
    service records it, flags the customer's systems of record and tells the downstream systems."""

    def __init__(self, intake_url: str) -> None:
        self.client = httpx.Client(base_url=intake_url, timeout=10.0)
        self.request_ids: list[str] = []
        self.lock = threading.Lock()

    def gpc(self, kind: str, value: str) -> str | None:
        body = {"type": "opt_out", "channel": "api", "identifiers": {kind: value}}
        try:
            response = self.client.post("/v1/requests", json=body, headers={"Sec-GPC": "1"})
        except httpx.HTTPError:
            log.warning("GPC not recorded: intake does not answer")
            return None
        if response.status_code != 202:
            log.warning("GPC not recorded: intake answered %s", response.status_code)
            return None
        request_id = str(response.json()["request_id"])
        with self.lock:
            self.request_ids.append(request_id)
        return request_id


class Visitors:
    """The shop's first-party visitor id (a random cookie) and its demo sign-in sessions (held in memory)."""

    def __init__(self) -> None:
        self.sessions: dict[str, str] = {}

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def with_visitor(scope: Scope, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            cookies = Request(scope).cookies
            visitor = cookies.get(VISITOR_COOKIE) or "v-" + secrets.token_urlsafe(18)
            state = scope.setdefault("state", {})
            state["visitor"] = visitor
            state["customer"] = self.sessions.get(cookies.get(SESSION_COOKIE, ""))

            async def send_cookie(message: MutableMapping[str, Any]) -> None:
                if message["type"] == "http.response.start" and VISITOR_COOKIE not in cookies:
                    cookie = f"{VISITOR_COOKIE}={visitor}; Path=/; Max-Age=34214400; HttpOnly; SameSite=Lax"
                    message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
                await send(message)

            await app(scope, receive, send_cookie)

        return with_visitor


def identify(scope: Scope) -> tuple[str, str] | None:
    """Who a GPC signal opts out: the signed-in customer, else this browser (§7025(c)(1))."""
    state = scope.get("state", {})
    customer = state.get("customer")
    return ("email", customer) if customer else ("device_id", state["visitor"])


def create_app(shop: Storefront) -> FastAPI:
    app = FastAPI(title="Example Co. Shop (demo)", docs_url=None, redoc_url=None, openapi_url=None)
    visitors = Visitors()
    recorder = IntakeOptOut(shop.intake_url)

    @app.get("/", response_class=HTMLResponse)
    def product(request: Request) -> HTMLResponse:
        """The product page, with the tag decisions inlined (none in the broken variant)."""
        decisions = getattr(request.state, "tag_decisions", None)
        return HTMLResponse(product_page(shop, request.state.visitor, bool(request.state.customer), decisions))

    @app.get("/live", response_class=HTMLResponse)
    def product_live(request: Request) -> HTMLResponse:
        """The same page without inlined decisions: the gate asks intake's endpoint from the browser."""
        return HTMLResponse(product_page(shop, request.state.visitor, bool(request.state.customer), None))

    @app.post("/signin")
    def sign_in(email: Annotated[str, Form(max_length=320)]) -> RedirectResponse:
        """Demo sign-in: any address, no password (a real shop checks one)."""
        token = secrets.token_urlsafe(24)
        visitors.sessions[token] = email.strip().lower()
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax")
        return response

    @app.get("/demo/opt-outs")
    def opt_outs() -> dict[str, list[str]]:
        """The opt-out requests this shop filed for GPC visitors (request ids only), for the demo and the tests."""
        return {"request_ids": list(recorder.request_ids)}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    if not shop.broken:
        decide = from_endpoint(shop.endpoint, lambda scope: scope["state"]["visitor"])
        app.add_middleware(TagDecisionMiddleware, flows=TAG_FLOWS, decide=decide, paths=("/",))
        app.add_middleware(GpcMiddleware, events=recorder, identify=identify)
    app.add_middleware(visitors.middleware)
    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="Run the demo storefront (a product page behind the tag gate)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8095)
    parser.add_argument("--intake-url", default="http://127.0.0.1:8000")
    parser.add_argument("--tag-host", default="http://127.0.0.1:8090", help="the data map's DEMO_TAG_HOST")
    parser.add_argument("--decisions-url", default="", help="the tag decision endpoint (default: intake's)")
    parser.add_argument("--broken", action="store_true", help="no GPC handling, tags loaded directly (Todd Snyder)")
    args = parser.parse_args(argv)
    shop = Storefront(args.intake_url.rstrip("/"), args.tag_host.rstrip("/"), args.broken, args.decisions_url)
    uvicorn.run(create_app(shop), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
