"""What every service's HTTP surface refuses before a handler runs: bodies over the limit (413, before they are
read into memory), a body that is not JSON (415), and validation errors told without echoing what was submitted
(keys can be identifiers): malformed or missing JSON is named as the body, not as a character offset."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from fastapi import FastAPI, Path, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.metrics import REQUESTS_REJECTED

SUBMITTED_KEY = "*"  # stands for a key the client chose (a dict key, an unknown field): never echoed
UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

# Path parameters every service reads the same way: malformed ones are a 422 that does not repeat them.
RequestId = Annotated[str, Path(pattern=UUID_PATTERN, description="A request id as intake answered it (a UUID)")]
SubjectKey = Annotated[str, Path(pattern="^[0-9a-f]{64}$", description="A subject key (64 hex characters)")]


class Problem(BaseModel):
    """What went wrong, for a person: never an identifier."""

    detail: str


class FieldProblem(BaseModel):
    field: str
    error: str


class ValidationProblem(BaseModel):
    """Each field that broke a rule, and the rule; never the submitted value or a key the client chose."""

    detail: list[FieldProblem]


_MEANINGS = {
    400: "The body could not be read as the declared content type (e.g. not JSON)",
    401: "No API token, or one no caller holds",
    403: "The caller's token lacks this route's scope (or the link's signature is wrong)",
    404: "Nothing of that id",
    409: "Conflicts with what was done before",
    410: "Expired or deleted",
    413: "Request body over the service's limit; nothing was stored",
    415: "The body is not JSON (Content-Type other than application/json)",
    429: "Too many submissions from this client",
    503: "A dependency (database, another service) is unavailable; nothing was changed",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` declaring these error statuses with their body."""
    return {code: {"model": Problem, "description": _MEANINGS[code]} for code in codes}


# Declared on every route of every service (the app's `responses`); routes add their own (404, 409, 410, 429).
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    **problems(400, 401, 403, 413, 415, 503),
    422: {"model": ValidationProblem, "description": "A field broke a rule (named, never echoed)"},
}


class BodyTooLarge(Exception):
    """The request body is over the service's limit."""


class BodyLimit:
    """ASGI middleware: a declared Content-Length over the limit is refused at once; a body without one (chunked)
    is counted as it arrives and refused as soon as it passes the limit. At most `max_bytes` is ever buffered.

    FastAPI's own `max_body_size` (0.165) refuses the same bodies, but answers a plain-text "Content Too Large"
    that neither states the limit nor matches the JSON error body every route declares, and counts nothing."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: Mapping[str, int] | None = None,
                 page_prefix: str | None = None) -> None:  # fmt: skip
        self.app = app
        self.max_bytes = max_bytes
        self.larger = dict(larger or {})  # path prefix -> its own limit (an upload form)
        self.page_prefix = page_prefix  # under it the refusal is a page for people, not JSON

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = next((size for prefix, size in self.larger.items() if path.startswith(prefix)), self.max_bytes)
        page = self.page_prefix is not None and path.startswith(self.page_prefix)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(send, limit, page)
            return
        try:
            body = await self._read(receive, limit)
        except BodyTooLarge:
            await self._refuse(send, limit, page)
            return
        if body is not None:  # None: the client went away before it finished sending
            await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive, limit: int) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _refuse(self, send: Send, limit: int, page: bool) -> None:
        REQUESTS_REJECTED.labels("body_too_large").inc()
        if page:
            body = _too_large_page(limit)
            media_type = b"text/html; charset=utf-8"
        else:
            detail = f"request body too large: at most {limit} bytes are accepted; nothing was stored"
            body = json.dumps({"detail": detail}).encode()
            media_type = b"application/json"
        headers = [(b"content-type", media_type), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]  # fmt: skip
        await send({"type": "http.response.start", "status": status.HTTP_413_CONTENT_TOO_LARGE, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _too_large_page(limit: int) -> bytes:
    size = f"{limit / 1_048_576:.0f} MB" if limit >= 1_048_576 else f"{limit // 1024} KB"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Too large</title></head><body><main>'
        f"<h1>What you sent is too large</h1><p>We accept at most {size}. Nothing was saved. Go back, make the "
        "file smaller (or leave it out) and send the form again.</p></main></body></html>"
    ).encode()


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


BODY = "body"
MEDIA_TYPE = re.compile(r"^[A-Za-z0-9.+-]+/[A-Za-z0-9.+-]+$")


def install_validation_errors(app: FastAPI) -> None:
    """422 bodies name the field and the rule only: no submitted value, and no key the client chose; a body sent
    as something other than JSON is a 415."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        media_type = _declared_media_type(request)
        if media_type is not None and not _is_json(media_type) and _about_the_body(exc.errors()):
            REQUESTS_REJECTED.labels("unsupported_media_type").inc()
            return JSONResponse({"detail": _not_json(media_type)}, status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE)
        known = declared_names(app)
        errors = [_problem(error, known) for error in exc.errors()]
        REQUESTS_REJECTED.labels("invalid_body").inc()
        return JSONResponse({"detail": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def _declared_media_type(request: Request) -> str | None:
    header = request.headers.get("content-type")
    return header.split(";", 1)[0].strip().lower() if header else None


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def _about_the_body(errors: Iterable[Any]) -> bool:
    return any(tuple(error["loc"])[:1] == (BODY,) for error in errors)


def _not_json(media_type: str) -> str:
    named = media_type if MEDIA_TYPE.match(media_type) and len(media_type) <= 80 else "this Content-Type"
    return f"the body was sent as {named}; this API reads JSON: send it with Content-Type: application/json"


def _problem(error: dict[str, Any], known: frozenset[str]) -> dict[str, str]:
    location = tuple(error["loc"])
    if error["type"] == "json_invalid":
        position = location[1] if len(location) > 1 else None
        where = f" at character {position}" if isinstance(position, int) else ""
        return {"field": BODY, "error": f"not valid JSON{where}: {error.get('ctx', {}).get('error', 'cannot parse')}"}
    if location == (BODY,):
        rule = "missing: send a JSON object" if error["type"] == "missing" else _rule(error)
        return {"field": BODY, "error": rule}
    return {"field": field_path(location, known), "error": _rule(error)}


def _rule(error: dict[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "not a field this API accepts (its name is not repeated back)"
    return str(error["msg"])


def field_path(location: Iterable[Any], known: frozenset[str]) -> str:
    """`corrections.*` for `("body", "corrections", "alice@example.com")`: only names the API declares survive."""
    parts = [part for part in location if part != "body"]
    return ".".join(str(part) if isinstance(part, int) or part in known else SUBMITTED_KEY for part in parts)


def declared_names(app: FastAPI) -> frozenset[str]:
    """Every property and parameter name in the app's OpenAPI document, and the request locations."""
    names = {"query", "path", "header", "cookie"}
    _collect(app.openapi(), names)
    return frozenset(names)


def _collect(node: Any, names: set[str]) -> None:
    if isinstance(node, dict):
        names.update(node.get("properties", {}))
        if isinstance(node.get("name"), str) and "in" in node:
            names.add(node["name"])
        for value in node.values():
            _collect(value, names)
    elif isinstance(node, list):
        for value in node:
            _collect(value, names)
