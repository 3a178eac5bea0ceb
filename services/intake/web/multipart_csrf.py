"""CSRF on multipart forms (the agent's upload): asgi-csrf 0.11 cannot parse multipart bodies with python-multipart
0.0.21+ (it passes the removed `FileClass`), so the token is read here from the form's FIRST part and handed to
asgi-csrf as its header, which it compares with the cookie as always; the app then sees the request unchanged."""

from __future__ import annotations

from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ORIGINAL_HEADERS = "ccpa.original_headers"
TOKEN_HEADER = b"x-csrftoken"
# Not a type asgi-csrf knows: without a matching token it refuses (403) instead of parsing the body itself.
CHECKED_TYPE = b"application/x-ccpa-multipart-checked"


class _FirstPartRead(Exception):
    pass


def first_field(body: bytes, boundary: bytes, name: str) -> str | None:
    """The value of the body's first part when it is the plain field `name` (not a file), else None."""
    part: dict[str, Any] = {"header": b"", "headers": [], "data": b""}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        part["header"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        part["headers"].append((part["header"].lower(), data[start:end]))
        part["header"] = b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part["data"] += data[start:end]

    def on_part_end() -> None:
        raise _FirstPartRead

    callbacks = {"on_header_field": on_header_field, "on_header_value": on_header_value,
                 "on_part_data": on_part_data, "on_part_end": on_part_end}  # fmt: skip
    try:
        MultipartParser(boundary, callbacks).write(body)  # type: ignore[arg-type]
    except _FirstPartRead:
        disposition = dict(part["headers"]).get(b"content-disposition", b"")
        _kind, options = parse_options_header(disposition)
        if options.get(b"name") == name.encode() and b"filename" not in options:
            return bytes(part["data"]).decode("latin-1")
    except MultipartParseError:  # a malformed body simply has no token
        return None
    return None


async def with_token_header(scope: Scope, receive: Receive, field: str) -> tuple[Scope, Receive]:
    """For a multipart POST: the scope asgi-csrf should see (token as header, content type it will not parse) and a
    receive replaying the body; anything else is passed through as it is."""
    headers = dict(scope.get("headers", []))
    content_type, options = parse_options_header(headers.get(b"content-type", b""))
    if scope["method"] != "POST" or content_type != b"multipart/form-data" or b"boundary" not in options:
        return scope, receive
    messages: list[Message] = []
    more = True
    while more:
        message = await receive()
        messages.append(message)
        more = message.get("type") == "http.request" and message.get("more_body", False)
    body = b"".join(message.get("body", b"") for message in messages)
    token = first_field(body, options[b"boundary"], field)
    kept = [(key, value) for key, value in scope["headers"] if key not in (TOKEN_HEADER, b"content-type")]
    checked = [*kept, (b"content-type", CHECKED_TYPE), *([(TOKEN_HEADER, token.encode("latin-1"))] if token else [])]

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return {**scope, "headers": checked, ORIGINAL_HEADERS: scope["headers"]}, replay


class RestoreHeaders:
    """Inside asgi-csrf: the app sees the request's own headers again."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if ORIGINAL_HEADERS in scope:
            scope = {**scope, "headers": scope[ORIGINAL_HEADERS]}
        await self.app(scope, receive, send)
