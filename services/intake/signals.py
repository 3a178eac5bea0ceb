"""Browser privacy signals: Global Privacy Control (Sec-GPC)."""

from __future__ import annotations

from starlette.requests import Request


def carries_gpc(request: Request) -> bool:
    """GPC spec: honour only a header value of exactly "1"; with several Sec-GPC headers, any exact "1"."""
    return any(value == "1" for value in request.headers.getlist("sec-gpc"))
