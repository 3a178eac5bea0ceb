"""Signing in and out: the sign-in form (username and password; the way back to the page asked for, local paths
only), a new session at every sign-in (the one the browser came with is ended: no fixation), and every sign-in,
refusal, lock and sign-out on the record. Logs name the account by its id at most, never a username or password."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from services.common.events import utcnow
from services.console.accounts.lockout import lock_message
from services.console.accounts.roles import Operator
from services.console.accounts.sessions import COOKIE
from services.console.accounts.signin import Attempt, Outcome
from services.console.actions import Acted, Action, Result
from services.console.bootstrap import Console
from services.console.web.deps import signed_in
from services.console.web.templating import render

router = APIRouter(tags=["sign-in"])
log = logging.getLogger(__name__)
NO_MATCH = "That username and password do not match an account."
DISABLED = "This account is disabled. Ask an administrator if you still need it."
MAX_PASSWORD_CHARS = 1024  # argon2 hashes anything; a longer "password" is someone testing the door
HOME = "/"
REFUSED_DETAIL = {Outcome.NO_MATCH: "wrong password", Outcome.LOCKED: "account locked",
                  Outcome.DISABLED: "account disabled"}  # fmt: skip


def local_path(next_path: str | None) -> str:
    """Where to go after signing in: a path on this console, never another site (`//host`, `/\\host`, `https:`)."""
    if not next_path or not next_path.startswith("/") or next_path.startswith(("//", "/\\")):
        return HOME
    if any(not ch.isprintable() or ch.isspace() or ch == "\\" for ch in next_path):
        return HOME
    return next_path


def _console(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


@router.get("/login", summary="The sign-in page")
def login_page(request: Request, next: str | None = None, signed_out: bool = False) -> Response:
    """The sign-in form (and single sign-on when it is configured); it says so when this browser is signed in."""
    token = request.cookies.get(COOKIE)
    me = _console(request).sessions.resolve(token, utcnow()) if token else None
    return sign_in_form(request, local_path(next), signed_out=signed_out, me=me)


@router.post("/login", summary="Sign in")
def login(request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = HOME) -> Response:  # fmt: skip
    """Check the password; on success a new session, and back to the page asked for."""
    console, now, back = _console(request), utcnow(), local_path(next)
    if not username.strip() or not password or len(password) > MAX_PASSWORD_CHARS:
        return sign_in_form(request, back, error=NO_MATCH, username=username, status_code=401)
    attempt = console.signin.attempt(username, password, now)
    _put_on_record(console, attempt)
    if attempt.outcome is not Outcome.SIGNED_IN or attempt.account is None:
        return sign_in_form(request, back, error=_refusal(console, attempt), username=username, status_code=401)
    return start_session(request, attempt.account.operator(), back)


def start_session(request: Request, operator: Operator, back: str, response: Response | None = None) -> Response:
    """A new session for the person (and the browser's previous one ended), then back to where they were going."""
    console, now = _console(request), utcnow()
    if earlier := request.cookies.get(COOKIE):
        console.sessions.end(earlier, now)
    token = console.sessions.start(operator.id, now)
    response = response or RedirectResponse(back, status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, secure=console.settings.secure_cookies, samesite="strict",
                        path="/")  # fmt: skip
    return response


@router.post("/logout", summary="Sign out")
def logout(request: Request, operator: Annotated[Operator, Depends(signed_in)]) -> Response:
    """End this session; back to the sign-in page."""
    console = _console(request)
    console.sessions.end(request.cookies.get(COOKIE, ""), utcnow())
    console.record.record(operator, Acted(Action.SIGNED_OUT, Result.DONE))
    log.info("console sign-out", extra={"account_id": operator.id})
    response = RedirectResponse("/login?signed_out=1", status_code=303)
    response.delete_cookie(COOKIE, path="/", secure=console.settings.secure_cookies, httponly=True,
                           samesite="strict")  # fmt: skip
    return response


def sign_in_form(request: Request, back: str, error: str | None = None, username: str = "", signed_out: bool = False,
                 status_code: int = 200, me: Operator | None = None) -> Response:  # fmt: skip
    sso = _console(request).sso is not None
    return render(request, "login.html.j2", status_code=status_code, me=me, next=back, error=error,
                  username=username[:200], signed_out=signed_out, sso=sso)  # fmt: skip


def _refusal(console: Console, attempt: Attempt) -> str:
    if attempt.outcome is Outcome.LOCKED or attempt.locked_now:
        return lock_message(console.signin.policy)
    return DISABLED if attempt.outcome is Outcome.DISABLED else NO_MATCH


def _put_on_record(console: Console, attempt: Attempt) -> None:
    """The sign-in or its refusal (actor `unknown` when no account has the name: the name is never recorded),
    and the lock when this wrong password made one."""
    who = attempt.account.operator() if attempt.account else None
    account = who.id if who else "unknown"
    if attempt.outcome is Outcome.SIGNED_IN:
        console.record.record(who, Acted(Action.SIGNED_IN, Result.DONE, detail="password"))
        log.info("console sign-in", extra={"account_id": account})
        return
    detail = REFUSED_DETAIL[attempt.outcome] if who else "no account has that username"
    console.record.record(who, Acted(Action.SIGN_IN_REFUSED, Result.REFUSED, detail=detail))
    log.info("console sign-in refused", extra={"account_id": account, "why": attempt.outcome.value})
    if attempt.locked_now:
        policy = console.signin.policy
        console.record.record(who, Acted(Action.ACCOUNT_LOCKED, Result.DONE, detail=(
            f"{policy.failures} wrong passwords in a row; locked for {policy.minutes()} minutes")))  # fmt: skip
        log.warning("console account locked", extra={"account_id": account})
