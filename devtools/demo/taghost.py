"""The demo's "tag host": the advertising network's pixel and the analytics provider's script, served on loopback
(the data map's DEMO_TAG_HOST) so a page's third-party tags are real requests, and every request it receives is
recorded (`GET /hits`): the scenarios and the monitor see exactly which tags a page loaded.
Run it with `python -m devtools.demo.taghost --port 8090`.
"""

from __future__ import annotations

import argparse
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from fastapi import FastAPI, Request, Response

# What each tag does once loaded: the pixel reports the page view, the analytics script its event.
SCRIPTS = {
    "adreach/pixel.js": "(function(){var i=new Image();i.src=new URL('collect?e=pageview',document.currentScript.src)"
    ".href;window.adreachLoaded=true;})();",
    "metricly/analytics.js": "(function(){var i=new Image();i.src=new URL('collect?e=view',document.currentScript.src)"
    ".href;window.metriclyLoaded=true;})();",
}
PIXEL = bytes.fromhex("47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b")


@dataclass(frozen=True)
class Hit:
    """One request the tag host received (no query string kept: a tag's parameters may carry identifiers)."""

    method: str
    path: str
    at: str
    gpc: bool


class Hits:
    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.lock = threading.Lock()

    def record(self, request: Request) -> None:
        gpc = request.headers.get("sec-gpc") == "1"
        hit = Hit(request.method, request.url.path, datetime.now(UTC).isoformat(), gpc)
        with self.lock:
            self.hits.append(hit)

    def all(self) -> list[dict[str, object]]:
        with self.lock:
            return [asdict(hit) for hit in self.hits]


def create_app() -> FastAPI:
    app = FastAPI(title="Demo tag host", docs_url=None, redoc_url=None, openapi_url=None)
    hits = Hits()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/hits")
    def list_hits() -> list[dict[str, object]]:
        """Every tag request received so far, oldest first."""
        return hits.all()

    @app.get("/{vendor}/{name}")
    def tag(vendor: str, name: str, request: Request) -> Response:
        """A tag's script, or its beacon (a 1x1 GIF)."""
        hits.record(request)
        script = SCRIPTS.get(f"{vendor}/{name}")
        if script is not None:
            return Response(script, media_type="text/javascript", headers={"Cache-Control": "no-store"})
        return Response(PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store"})

    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="Run the demo tag host (the third-party tags of the storefront)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
