"""One-time e-mail codes (an extra verification factor, §7062): a random 6-digit code, kept only as a keyed hash bound
to its pending submission, compared in constant time, expiring, with a limited number of tries."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.common.crypto import keyed_hash

CODE_DIGITS = 6
CODE_PATTERN = r"^[0-9]{6}$"
TOKEN_BYTES = 32  # the pending submission's link: 256 bits, unguessable
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{43}$"


class CodeCheck(StrEnum):
    RIGHT = "right"
    WRONG = "wrong"  # tries remain
    VOID = "void"  # that was the last try (or none were left)
    EXPIRED = "expired"


@dataclass(frozen=True)
class CodeState:
    code_hash: str
    expires_at: datetime
    tries_left: int


def new_code() -> str:
    """Six random digits (secrets: a CSPRNG), leading zeros kept."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def code_hash(secret: bytes, pending_id: str, code: str) -> str:
    """The keyed hash stored for a code: bound to its pending submission, so a code works for that one only."""
    return keyed_hash(secret, "verification-code", f"{pending_id}:{code.strip()}")


def token_hash(secret: bytes, token: str) -> str:
    return keyed_hash(secret, "pending-submission", token)


def check_code(secret: bytes, pending_id: str, state: CodeState, typed: str, now: datetime) -> CodeCheck:
    """Whether `typed` is the code; an expired code or one with no tries left never matches."""
    if state.tries_left <= 0:
        return CodeCheck.VOID
    if now >= state.expires_at:
        return CodeCheck.EXPIRED
    if hmac.compare_digest(code_hash(secret, pending_id, typed), state.code_hash):
        return CodeCheck.RIGHT
    return CodeCheck.VOID if state.tries_left <= 1 else CodeCheck.WRONG
