"""Your Privacy Choices (§7015, §7026, §7027): opt out of sale and sharing, or limit the use of sensitive personal
information, in one step each; opt back in in two (a form, then a confirmation), so opting out never takes more
steps than opting in. No account and no verification; this browser is known by its device cookie. A browser's
Global Privacy Control signal is honoured as an opt-out for it, recorded once, and said so on the page (§7025)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from services.common.events import utcnow
from services.common.identity import InvalidIdentifier
from services.common.metrics import GPC_SIGNALS, REQUESTS_ACCEPTED
from services.common.request_types import RequestType
from services.common.sensitive import SENSITIVE_CATEGORIES
from services.intake.api_models import Channel, Identifiers, SubmitRequest
from services.intake.consent import OptoutUnavailable
from services.intake.handlers import Accepted
from services.intake.web.abuse import Action, RateLimits, TooMany, client_address, too_many_page
from services.intake.web.center import PrivacyCenter
from services.intake.web.device import device_of, new_device_id, remember
from services.intake.web.templating import render
from services.intake.web.texts import SENSITIVE_LABELS
from services.intake.web.wording import ChoiceState, choice_state

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

Email = Annotated[str, Form()]
Categories = Annotated[list[str], Form()]
OPT_IN_WHAT = ("sale_sharing", "sensitive")


class ChoiceRefused(ValueError):
    """What the person must change in the form, in words for them (never echoing what they typed)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@router.get("/privacy/choices", response_class=HTMLResponse)
def choices(request: Request) -> HTMLResponse:
    """This browser's current choices and one form per choice; a GPC signal is honoured here."""
    return _choices_page(request, errors={})


@router.post("/privacy/choices/opt-out", response_class=HTMLResponse)
def opt_out(request: Request, email: Email = "") -> HTMLResponse:
    """Opt out of the sale and sharing of personal information: one step, nothing required."""
    return _submitted(request, RequestType.OPT_OUT, email, [], form="opt-out")


@router.post("/privacy/choices/limit", response_class=HTMLResponse)
def limit(request: Request, email: Email = "", category: Categories = []) -> HTMLResponse:  # noqa: B006
    """Limit the use of the sensitive personal information categories ticked (all of them unless unticked)."""
    if not category:
        refusal = "Tick at least one kind of sensitive information to limit."
        return _choices_page(request, {"categories": refusal}, 422)
    return _submitted(request, RequestType.LIMIT, email, category, form="limit")


@router.get("/privacy/choices/opt-in", response_class=HTMLResponse)
def opt_in_form(request: Request) -> HTMLResponse:
    """Step 1 of opting back in: what to allow again."""
    return _opt_in_page(request, errors={})


@router.post("/privacy/choices/opt-in", response_class=HTMLResponse)
def opt_in_review(request: Request, what: Annotated[str, Form()] = "", category: Categories = []) -> HTMLResponse:  # noqa: B006
    """Step 2 of opting back in: say what it means (and how it meets a GPC signal), then confirm."""
    if (refused := _with_files(request) or _throttled(request)) is not None:
        return refused
    try:
        categories = _opt_in_categories(what, category)
    except ChoiceRefused as refusal:
        return _opt_in_page(request, {refusal.field: str(refusal)}, 422)
    labels = [SENSITIVE_LABELS[name] for name in categories]
    return render(request, "opt_in_confirm.html.j2", nav="choices", what=what, categories=categories, labels=labels)


@router.post("/privacy/choices/opt-in/confirm", response_class=HTMLResponse)
def opt_in(request: Request, what: Annotated[str, Form()] = "", category: Categories = []) -> HTMLResponse:  # noqa: B006
    """Opt back in, as confirmed on the previous page (for this browser: the consumer's own action, §7028)."""
    try:
        categories = _opt_in_categories(what, category)
    except ChoiceRefused as refusal:
        return _opt_in_page(request, {refusal.field: str(refusal)}, 422)
    return _submitted(request, RequestType.OPT_IN, "", categories, form="opt-in")


def _choices_page(request: Request, errors: dict[str, str], status_code: int = 200) -> HTMLResponse:
    center = _center(request)
    device_id = device_of(request) or new_device_id()
    gpc = center.gpc(request)
    if gpc:
        _honour_gpc(request, center, device_id)
    page = render(request, "choices.html.j2", status_code=status_code, nav="choices", errors=errors,
                  state=_state(center, device_id), categories=SENSITIVE_LABELS)  # fmt: skip
    remember(page, device_id, _secure(center))
    return page


def _opt_in_page(request: Request, errors: dict[str, str], status_code: int = 200) -> HTMLResponse:
    return render(request, "opt_in.html.j2", status_code=status_code, nav="choices", errors=errors,
                  categories=SENSITIVE_LABELS)  # fmt: skip


def _submitted(request: Request, request_type: RequestType, email: str, categories: list[str],
               form: str) -> HTMLResponse:  # fmt: skip
    if (refused := _with_files(request) or _throttled(request)) is not None:
        return refused
    center = _center(request)
    device_id = device_of(request) or new_device_id()
    # Opting back in is the consumer's own choice over the signal (§7025(c)(3)): that submission carries no GPC.
    gpc = center.gpc(request) and request_type is not RequestType.OPT_IN
    try:
        accepted = submit_choice(center, _body(request_type, device_id, email.strip(), categories), gpc, None)
    except ChoiceRefused as refusal:
        return _choices_page(request, {form: str(refusal)}, 422)
    row = center.intake.service.get(accepted.request_id)
    link = accepted.status_link
    page = render(request, "choice_done.html.j2", nav="choices", request_type=request_type.value,
                  with_email=bool(email.strip()), labels=[SENSITIVE_LABELS[name] for name in categories],
                  due_at=row.respond_by, status_path=f"/privacy/status/{link.token}" if link else None,
                  status_url=center.intake.service.status_links.url(link.token) if link else None)  # fmt: skip
    remember(page, device_id, _secure(center))
    return page


def submit_choice(center: PrivacyCenter, body: SubmitRequest, gpc: bool, idempotency_key: str | None) -> Accepted:
    """Submit through intake's use case, as the JSON API does (relay woken, counted); ChoiceRefused for bad input."""
    try:
        accepted = center.intake.service.submit(body, gpc, idempotency_key, utcnow())
    except InvalidIdentifier:
        raise ChoiceRefused("email", "That e-mail address does not look right: check it, or leave it empty.") from None
    if not accepted.replayed:
        center.intake.relay.wakeup.set()
        REQUESTS_ACCEPTED.labels(body.type.value, body.channel.value).inc()
        GPC_SIGNALS.inc(gpc)
    return accepted


def _body(request_type: RequestType, device_id: str, email: str, categories: list[str]) -> SubmitRequest:
    identifiers: dict[str, Any] = {"device_id": device_id, **({"email": email} if email else {})}
    try:
        return SubmitRequest(type=request_type, channel=Channel.WEB_FORM, identifiers=Identifiers(**identifiers),
                             limit_categories=categories)  # fmt: skip
    except ValidationError:
        # The form only offers valid categories; what fails here is a too-long address or a forged category.
        raise ChoiceRefused("email", "That e-mail address does not look right: check it, or leave it empty.") from None


def _opt_in_categories(what: str, category: list[str]) -> list[str]:
    if what not in OPT_IN_WHAT:
        raise ChoiceRefused("what", "Choose what you want to allow again.")
    if what == "sale_sharing":
        return []
    chosen = [name for name in SENSITIVE_CATEGORIES if name in category]
    if not chosen:
        raise ChoiceRefused("category", "Tick at least one kind of sensitive information to allow again.")
    return chosen


def _honour_gpc(request: Request, center: PrivacyCenter, device_id: str) -> bool:
    """Record the signal as this browser's opt-out, once per device id (replays change nothing); False if throttled."""
    if _throttled(request) is not None:
        return False  # honoured at the next view: a flood of cookieless GPC views must not fill the request store
    body = _body(RequestType.OPT_OUT, device_id, "", [])
    accepted = submit_choice(center, body, gpc=True, idempotency_key=f"privacy-center-gpc:{device_id}")
    if not accepted.replayed:
        log.info("GPC signal recorded as an opt-out for a browser: request %s", accepted.request_id)
    return True


def _state(center: PrivacyCenter, device_id: str) -> ChoiceState | None:
    """This browser's choices now, or None when the opt-out service does not answer (the forms still work)."""
    try:
        return choice_state(center.intake.consent.lookup({"device_id": device_id}), SENSITIVE_LABELS)
    except OptoutUnavailable:
        log.warning("choices page: the opt-out service does not answer; current state not shown")
        return None


def _with_files(request: Request) -> HTMLResponse | None:
    """A choice takes no file (Honda, Todd Snyder 2025: an ID document asked for to opt out): an upload is refused
    (415) and nothing is submitted or kept."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/"):
        return None
    return render(request, "error.html.j2", status_code=415, title="This form takes no files",
                  message="Opting out and limiting need no document and no proof of identity: nothing was sent or "
                  "kept. Press the button on Your Privacy Choices, with your e-mail address if you like.")  # fmt: skip


def _throttled(request: Request) -> HTMLResponse | None:
    limits: RateLimits = request.app.state.privacy_limits
    try:
        limits.hit(Action.CHOICE, client_address(request))
    except TooMany as refused:
        return too_many_page(request, refused)
    return None


def _center(request: Request) -> PrivacyCenter:
    center: PrivacyCenter = request.app.state.privacy_center
    return center


def _secure(center: PrivacyCenter) -> bool:
    return center.settings.public_base_url.startswith("https://")


@router.post("/privacy/choices/gpc", status_code=204)
def gpc_seen_by_script(request: Request) -> Response:
    """Our script saw navigator.globalPrivacyControl where no Sec-GPC header came: honour it for this browser."""
    device_id = device_of(request)
    if device_id is None:
        return Response(status_code=400)
    return Response(status_code=204 if _honour_gpc(request, _center(request), device_id) else 429)
