"""The business's privacy policy (§1798.130(a)(5), §7011) at /privacy/policy, written from the data map and the
business settings; the data map's `notices.privacy_policy` points here and its flows cite #sale and #sharing."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.common.sensitive import SENSITIVE_CATEGORIES
from services.intake.web.templating import render
from services.intake.web.texts import SENSITIVE_LABELS

router = APIRouter(include_in_schema=False)


@router.get("/privacy/policy", response_class=HTMLResponse)
def policy_page(request: Request) -> HTMLResponse:
    """What we collect, why, who receives it, how long we keep it, your rights and how to use them."""
    center = request.app.state.privacy_center
    if center.policy is None:
        return render(request, "error.html.j2", status_code=404, title="We could not find that page")
    sensitive = [SENSITIVE_LABELS.get(code, code) for code in SENSITIVE_CATEGORIES if code in center.policy.sensitive]
    return render(request, "policy.html.j2", policy=center.policy, sensitive=sensitive, nav="policy")
