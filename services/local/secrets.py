"""Secrets of the local stack: taken from the environment when set, else generated once under .local/."""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

GENERATED = ("CCPA_API_TOKEN", "CCPA_SUBJECT_KEY_SECRET", "CCPA_MASTER_KEYS", "CCPA_ACTIVE_MASTER_KEY")


def random_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def generate() -> dict[str, str]:
    return {
        "CCPA_API_TOKEN": secrets.token_urlsafe(32),
        "CCPA_SUBJECT_KEY_SECRET": random_key(),
        "CCPA_MASTER_KEYS": json.dumps({"local-1": random_key()}),
        "CCPA_ACTIVE_MASTER_KEY": "local-1",
    }


def load_or_create(path: Path) -> dict[str, str]:
    """The stack's secrets: a value set in the environment wins over the generated file."""
    stored = json.loads(path.read_text()) if path.exists() else {}
    if not stored:
        stored = generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2))
        path.chmod(0o600)
    return {name: os.environ.get(name) or stored[name] for name in GENERATED}
