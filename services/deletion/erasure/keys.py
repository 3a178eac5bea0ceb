"""The two keys erasure needs: the suppression ledger's HMAC key and the de-identification (hmac strategy) key.

Each comes from its own variable (base64, 32 bytes) or, when that is unset, is derived from the service secret
CCPA_SUBJECT_KEY_SECRET with a fixed label, so every process of one deployment computes the same entries.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass

from services.common.settings import decode_key

LEDGER_KEY_ENV = "CCPA_LEDGER_KEY"
DEIDENTIFY_KEY_ENV = "CCPA_DEIDENTIFY_KEY"
SERVICE_SECRET_ENV = "CCPA_SUBJECT_KEY_SECRET"
LEDGER_LABEL = b"ccpa suppression ledger v1"
DEIDENTIFY_LABEL = b"ccpa de-identification v1"


@dataclass(frozen=True)
class ErasureKeys:
    ledger: bytes
    deidentify: bytes

    def __repr__(self) -> str:
        return "ErasureKeys(<hidden>)"


def erasure_keys(env: Mapping[str, str] = os.environ) -> ErasureKeys:
    """Both keys from the environment; ValueError naming the variables when neither source is set."""
    return ErasureKeys(_key(env, LEDGER_KEY_ENV, LEDGER_LABEL), _key(env, DEIDENTIFY_KEY_ENV, DEIDENTIFY_LABEL))


def derived_key(service_secret: bytes, label: bytes) -> bytes:
    return hmac.new(service_secret, label, hashlib.sha256).digest()


def _key(env: Mapping[str, str], name: str, label: bytes) -> bytes:
    if value := env.get(name):
        return decode_key(value, name)
    if secret := env.get(SERVICE_SECRET_ENV):
        return derived_key(decode_key(secret, SERVICE_SECRET_ENV), label)
    raise ValueError(f"set {name} (base64, 32 bytes) or the service secret {SERVICE_SECRET_ENV} it is derived from")
