"""What the pages people use (the privacy center, the console) share: a Jinja2 environment that escapes everything
and refuses an undefined name, and the CSRF token asgi-csrf gives each browser."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape


def page_environment(templates: Path) -> Environment:
    return Environment(
        loader=FileSystemLoader(templates),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def csrf_token(request: Request) -> str:
    """The CSRF token for this browser (asgi-csrf sets its cookie with the response that asked for it)."""
    return str(request.scope["csrftoken"]())
