"""Secrets of the local stack: taken from the environment when set, else generated once under .local/.

Each caller has a token of its own (the operator, intake, monitoring); the services are given only their SHA-256
(CCPA_API_CREDENTIALS), and a service that calls others (intake) is given its own token in clear.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from services.common.auth import CALLER_SCOPES, token_digest

# The callers' tokens in clear: held by the people and processes that present them, never by every service.
CALLER_TOKENS = {"operator": "CCPA_API_TOKEN", "intake": "CCPA_INTAKE_TOKEN", "monitoring": "CCPA_METRICS_TOKEN",
                 "console": "CCPA_CONSOLE_TOKEN"}  # fmt: skip
KEYS = ("CCPA_SUBJECT_KEY_SECRET", "CCPA_MASTER_KEYS", "CCPA_ACTIVE_MASTER_KEY", "CCPA_AUDIT_SIGNING_KEY")
GENERATED = (*CALLER_TOKENS.values(), *KEYS)


def random_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def generate() -> dict[str, str]:
    return {
        **{variable: secrets.token_urlsafe(32) for variable in CALLER_TOKENS.values()},
        "CCPA_SUBJECT_KEY_SECRET": random_key(),
        "CCPA_MASTER_KEYS": json.dumps({"local-1": random_key()}),
        "CCPA_ACTIVE_MASTER_KEY": "local-1",
        "CCPA_AUDIT_SIGNING_KEY": random_key(),  # an Ed25519 seed is any 32 bytes
    }


def load_or_create(path: Path) -> dict[str, str]:
    """The stack's secrets: a value set in the environment wins over the generated file; a secret the file lacks
    (written by an older version) is generated and added."""
    stored = json.loads(path.read_text()) if path.exists() else {}
    missing = {name: value for name, value in generate().items() if name not in stored}
    if missing:
        stored |= missing
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2))
        path.chmod(0o600)
    return {name: os.environ.get(name) or stored[name] for name in GENERATED}


def credentials(stack_secrets: Mapping[str, str]) -> str:
    """CCPA_API_CREDENTIALS for every service: each caller's token digest and scopes."""
    return json.dumps({
        caller: {"sha256": token_digest(stack_secrets[variable]), "scopes": sorted(CALLER_SCOPES[caller])}
        for caller, variable in CALLER_TOKENS.items()
    })  # fmt: skip


def service_env(stack_secrets: Mapping[str, str]) -> dict[str, str]:
    """What every service is given: the keys, and the callers' credentials as digests (no caller's token)."""
    return {**{name: stack_secrets[name] for name in KEYS}, "CCPA_API_CREDENTIALS": credentials(stack_secrets)}


def own_token_env(service: str, stack_secrets: Mapping[str, str]) -> dict[str, str]:
    """The token a service presents when it calls the others (intake and the console do)."""
    variable = CALLER_TOKENS.get(service)
    return {"CCPA_SERVICE_TOKEN": stack_secrets[variable]} if variable and service != "operator" else {}
