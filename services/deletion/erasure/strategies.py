"""Masking strategies (pure): the value a field holds after null, rewrite, hash (SHA-256) or hmac (HMAC-SHA256)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from services.common.stores.values import normalise_identifier
from services.deletion.erasure.plan import FieldMask

MIN_HMAC_KEY_BYTES = 32


def check_hmac_key(key: bytes) -> bytes:
    if len(key) < MIN_HMAC_KEY_BYTES:
        raise ValueError(f"the de-identification HMAC key must have at least {MIN_HMAC_KEY_BYTES} bytes, "
                         f"got {len(key)}")  # fmt: skip
    return key


DIGEST = re.compile(r"[0-9a-f]{64}")


def masked_values(masks: tuple[FieldMask, ...], record: Mapping[str, Any], hmac_key: bytes) -> dict[str, Any]:
    """The new value of every masked field the record has."""
    return {mask.field: masked(mask, record[mask.field], hmac_key) for mask in masks if mask.field in record}


def masked(mask: FieldMask, value: Any, hmac_key: bytes) -> Any:
    if mask.strategy == "null":
        return None
    if mask.strategy == "rewrite":
        return mask.rewrite_to
    if isinstance(value, str) and DIGEST.fullmatch(value):
        return value  # already hashed by an earlier erasure: a replay leaves it as it is
    text = _hashed_text(mask, value)
    if text is None:
        return None
    if mask.strategy == "hash":
        return hashlib.sha256(text.encode()).hexdigest()
    return hmac.new(hmac_key, text.encode(), hashlib.sha256).hexdigest()


def _hashed_text(mask: FieldMask, value: Any) -> str | None:
    """Identifiers in their normal form, so one email hashes alike in every store; other values as text."""
    if value is None:
        return None
    if mask.kind:
        return normalise_identifier(mask.kind, value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)
