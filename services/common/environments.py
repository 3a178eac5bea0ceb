"""What production refuses: the development defaults a service could otherwise start with unnoticed (SQLite, the
demo data map, the local stack's generated secrets, the operator's token in clear)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import Path

from services.common.auth import token_digest

DEMO_DATAMAP = "devtools/demo/datamap.yaml"
# The key id devtools/local/secrets.py gives the master key it generates: a marker of a local stack's keys.
LOCAL_MASTER_KEY_ID = "local-1"


class Environment(StrEnum):
    """development (the default) and test behave alike; production refuses the development defaults."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def local_secrets_file() -> Path:
    """Where the local stack writes the secrets it generates (devtools/local/secrets.py)."""
    return Path(os.environ.get("CCPA_LOCAL_DIR", ".local")) / "secrets.json"


def sqlite_urls(urls: Mapping[str, str | None]) -> list[str]:
    """The settings (by variable name) whose database URL is SQLite."""
    return [f"{name} is SQLite: give a PostgreSQL URL" for name, url in urls.items()
            if url is not None and url.strip().lower().startswith("sqlite")]  # fmt: skip


def generated_secrets(secrets: Mapping[str, Iterable[str]], digests: Mapping[str, Iterable[str]],
                      path: Path) -> list[str]:  # fmt: skip
    """The settings holding a secret the local stack generated into `path` (in clear, or as a token's SHA-256)."""
    generated = _generated_values(path)
    if not generated:
        return []
    hashed = {token_digest(value) for value in generated}
    found = [name for name, values in secrets.items() if generated.intersection(values)]
    found += [name for name, values in digests.items() if hashed.intersection(values)]
    return [f"{name} holds a secret the local stack generated ({path}): generate your own" for name in found]


def _generated_values(path: Path) -> set[str]:
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return set()
    if not isinstance(stored, dict):
        return set()
    values = {str(value) for value in stored.values()}
    try:
        keys = json.loads(str(stored.get("CCPA_MASTER_KEYS", "{}")))
    except ValueError:
        keys = {}
    return values | ({str(key) for key in keys.values()} if isinstance(keys, dict) else set())


def marked_keys(master_key_ids: Iterable[str]) -> list[str]:
    if LOCAL_MASTER_KEY_ID in master_key_ids:
        return [f"CCPA_MASTER_KEYS has the key id {LOCAL_MASTER_KEY_ID!r} the local stack gives its generated key"]
    return []


def demo_datamap(path: str, set_explicitly: bool) -> list[str]:
    if not set_explicitly:
        return [f"CCPA_DATAMAP is not set: its default is the demo company's map ({DEMO_DATAMAP})"]
    if Path(path).resolve() == Path(DEMO_DATAMAP).resolve() or Path(path).as_posix().endswith(DEMO_DATAMAP):
        return ["CCPA_DATAMAP is the demo company's map: give your own (docs/datamap.md)"]
    return []


def refusal(problems: list[str]) -> str:
    """One message naming every offending setting, never a value."""
    return "CCPA_ENVIRONMENT=production refuses development defaults:" + "".join(f"\n    - {p}" for p in problems)
