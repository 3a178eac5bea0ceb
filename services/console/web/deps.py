"""Who is asking: the signed-in person from the session cookie, and the role a route needs. Every route of the
console names one (`Viewer`, `Acting`, `Admin`); the check is on the server, whatever the page showed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from services.common.events import utcnow
from services.console.accounts.roles import Operator, Role
from services.console.accounts.sessions import COOKIE


class NotSignedIn(Exception):
    """No live session: the browser is sent to the sign-in page (and back here afterwards)."""

    def __init__(self, next_path: str) -> None:
        super().__init__("sign in first")
        self.next_path = next_path


class NotAllowed(Exception):
    """The person's role does not include this (403, a page naming the role needed)."""

    def __init__(self, needed: Role) -> None:
        super().__init__(f"this needs the {needed} role")
        self.needed = needed


def login_url(next_path: str) -> str:
    return f"/login?next={quote(next_path, safe='/')}"


def signed_in(request: Request) -> Operator:
    token = request.cookies.get(COOKIE)
    operator: Operator | None = request.app.state.console.sessions.resolve(token, utcnow()) if token else None
    if operator is None:
        where = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise NotSignedIn(where if request.method == "GET" else "/")
    request.state.operator = operator
    return operator


def may(needed: Role) -> Callable[..., Operator]:
    """A dependency: the person signed in, when their role includes `needed`."""

    def allowed(operator: Annotated[Operator, Depends(signed_in)]) -> Operator:
        if not operator.may(needed):
            raise NotAllowed(needed)
        return operator

    allowed.__name__ = f"may_{needed.value}"
    return allowed


Viewer = Annotated[Operator, Depends(may(Role.VIEWER))]
Acting = Annotated[Operator, Depends(may(Role.OPERATOR))]
Admin = Annotated[Operator, Depends(may(Role.ADMIN))]
