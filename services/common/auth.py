"""Who may call which route: every caller has a token of its own, known to the services only by its SHA-256, and
the scopes it needs; each route names the one scope it takes. A caller is named in the logs, never its token."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

log = logging.getLogger(__name__)
bearer = HTTPBearer(auto_error=False)


class Scope(StrEnum):
    REQUESTS_READ = "requests:read"  # intake: a request's status, answer and report links
    REQUESTS_EXTEND = "requests:extend"  # intake: take the one extension
    CONSENT_READ = "consent:read"  # intake's consent look-up, optout's state per subject
    REPORTS_READ = "reports:read"  # discovery: the stored report bytes (intake serves them through signed links)
    TIMELINE_READ = "timeline:read"  # audit: a request's timeline and §7101 record
    HOLDS_WRITE = "holds:write"  # deletion: place and release legal holds
    METRICS_READ = "metrics:read"  # every service's /metrics
    DOCS_READ = "docs:read"  # the internal services' OpenAPI document
    RECIPIENTS_WRITE = "recipients:write"  # deletion: confirm a manual recipient, re-send an instruction
    REVIEWS_WRITE = "reviews:write"  # intake: approve or deny an answer held for review before it is sent
    NOTICES_WRITE = "notices:write"  # intake: re-send a notice to the consumer
    REPORTS_DOWNLOAD = "reports:download"  # intake: a report's bytes for the privacy team (each download recorded)


# The callers the project knows, with what each needs and nothing more (docs/architecture.md, "Who may call what").
OPERATOR_SCOPES = frozenset(Scope) - {Scope.REPORTS_READ}
CALLER_SCOPES: Mapping[str, frozenset[Scope]] = {
    "operator": OPERATOR_SCOPES,
    "intake": frozenset({Scope.REPORTS_READ, Scope.CONSENT_READ}),
    "monitoring": frozenset({Scope.METRICS_READ}),
    # The operator console (services/console): what its people may do, each checked again by role in the console.
    "console": frozenset(
        {
            Scope.REQUESTS_READ,
            Scope.REQUESTS_EXTEND,
            Scope.CONSENT_READ,
            Scope.TIMELINE_READ,
            Scope.HOLDS_WRITE,
            Scope.RECIPIENTS_WRITE,
            Scope.REVIEWS_WRITE,
            Scope.NOTICES_WRITE,
            Scope.REPORTS_DOWNLOAD,
        }
    ),
}
MIN_TOKEN_CHARS = 24


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Credential:
    caller: str
    token_sha256: str
    scopes: frozenset[Scope]


class Credentials:
    """The callers one service accepts; a token is matched by its digest, in constant time, against every one."""

    def __init__(self, credentials: Iterable[Credential]) -> None:
        self.credentials = tuple(credentials)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Credentials:
        """From `{"caller": {"sha256": "<hex>", "scopes": ["metrics:read", ...]}}`; a mistake names the caller."""
        return cls(_credential(caller, spec) for caller, spec in raw.items())

    def authenticate(self, token: str) -> Credential | None:
        digest = token_digest(token).encode()
        found = None
        for credential in self.credentials:
            if hmac.compare_digest(digest, credential.token_sha256.encode()):
                found = credential
        return found


def _credential(caller: str, spec: Any) -> Credential:
    if not isinstance(spec, Mapping) or set(spec) != {"sha256", "scopes"}:
        raise ValueError(f"CCPA_API_CREDENTIALS[{caller}] must be an object with exactly 'sha256' and 'scopes'")
    digest = str(spec["sha256"]).lower()
    if len(digest) != 64 or any(ch not in "0123456789abcdef" for ch in digest):
        raise ValueError(f"CCPA_API_CREDENTIALS[{caller}].sha256 must be 64 hex characters (the token's SHA-256)")
    unknown = sorted(set(spec["scopes"]) - set(Scope))
    if unknown:
        raise ValueError(f"CCPA_API_CREDENTIALS[{caller}] names unknown scopes {unknown}; known: {list(Scope)}")
    return Credential(caller, digest, frozenset(Scope(scope) for scope in spec["scopes"]))


def requires(scope: Scope) -> Callable[..., str]:
    """A dependency: the calling caller's name when its token holds `scope`; 401 without a known token, 403 without
    the scope (the message names the scope, never the token)."""

    def caller(request: Request, supplied: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
        credentials: Credentials = request.app.state.credentials
        credential = credentials.authenticate(supplied.credentials) if supplied else None
        if credential is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or unknown API token",
                                headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
        if scope not in credential.scopes:
            log.warning("caller lacks a scope", extra={"caller": credential.caller, "scope": scope.value})
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this token may not do this: it needs the {scope} scope")
        return credential.caller

    caller.__name__ = f"requires_{scope.name.lower()}"
    return caller


# Route parameters that are the authorised caller's name, one per scope: `def place_hold(..., by: HoldsWriter)`.
RequestsReader = Annotated[str, Depends(requires(Scope.REQUESTS_READ))]
RequestsExtender = Annotated[str, Depends(requires(Scope.REQUESTS_EXTEND))]
ConsentReader = Annotated[str, Depends(requires(Scope.CONSENT_READ))]
ReportsReader = Annotated[str, Depends(requires(Scope.REPORTS_READ))]
TimelineReader = Annotated[str, Depends(requires(Scope.TIMELINE_READ))]
HoldsWriter = Annotated[str, Depends(requires(Scope.HOLDS_WRITE))]
MetricsReader = Annotated[str, Depends(requires(Scope.METRICS_READ))]
DocsReader = Annotated[str, Depends(requires(Scope.DOCS_READ))]
RecipientsWriter = Annotated[str, Depends(requires(Scope.RECIPIENTS_WRITE))]
ReviewsWriter = Annotated[str, Depends(requires(Scope.REVIEWS_WRITE))]
NoticesWriter = Annotated[str, Depends(requires(Scope.NOTICES_WRITE))]
ReportsDownloader = Annotated[str, Depends(requires(Scope.REPORTS_DOWNLOAD))]
