"""The CAPTCHA hook against a real siteverify-compatible server on loopback (a few lines of http.server)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import pytest
from pydantic import SecretStr

from services.intake.web.abuse import Captcha

SECRET = "captcha-secret"
seen: list[dict[str, list[str]]] = []


class SiteVerify(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        seen.append(form)
        passed = form.get("secret") == [SECRET] and form.get("response") == ["human"]
        body = json.dumps({"success": passed}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def siteverify() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), SiteVerify)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/siteverify"
    finally:
        server.shutdown()


class Settings:
    def __init__(self, url: str | None) -> None:
        self.captcha_verify_url = url
        self.captcha_secret = SecretStr(SECRET)
        self.captcha_site_key = "site-key"
        self.captcha_script_url = None


def passes(captcha: Captcha, form: dict[str, object]) -> bool:
    return asyncio.run(captcha.passes(form, "10.1.2.3"))


def test_off_by_default_every_form_passes() -> None:
    captcha = Captcha(Settings(None))  # type: ignore[arg-type]
    assert not captcha.on and passes(captcha, {})


def test_on_a_form_passes_only_with_the_widgets_answer_the_provider_accepts(siteverify: str) -> None:
    captcha = Captcha(Settings(siteverify))  # type: ignore[arg-type]
    assert captcha.on
    assert passes(captcha, {"h-captcha-response": "human"})
    assert passes(captcha, {"cf-turnstile-response": "human"})
    assert not passes(captcha, {"h-captcha-response": "robot"})
    assert not passes(captcha, {})  # no answer: the provider is not even asked
    assert seen[0] == {"secret": [SECRET], "response": ["human"], "remoteip": ["10.1.2.3"]} and len(seen) == 3


def test_an_unreachable_provider_refuses_the_form() -> None:
    captcha = Captcha(Settings("http://127.0.0.1:9/siteverify"))  # type: ignore[arg-type]
    assert not passes(captcha, {"g-recaptcha-response": "human"})
