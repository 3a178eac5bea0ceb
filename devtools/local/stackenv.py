"""The local stack's settings for the commands run against it: `stack up` records them in .local/stack.env, and
`ccpa keys|audit|discover|backups|demo|stack` read them back (with .local/secrets.json), so nothing is exported by hand.

A variable set in the environment always wins over the recorded one.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from dotenv import dotenv_values

from devtools.local import secrets

STACK_ENV = "stack.env"
SECRETS = "secrets.json"
# What the stack's processes are configured by; the rest of the caller's environment is not the stack's business.
PREFIXES = ("CCPA_", "DEMO_", "KAFKA_")
# Kept only in secrets.json: a copy here would be one more file to protect.
NOT_RECORDED = frozenset({*secrets.KEYS, "CCPA_API_CREDENTIALS"})


def local_dir() -> Path:
    """Where the local stack keeps its state: $CCPA_LOCAL_DIR, else .local in the current directory."""
    return Path(os.environ.get("CCPA_LOCAL_DIR", ".local"))


def write_stack_env(root: Path, env: Mapping[str, str]) -> Path:
    """Record the stack's settings (not its secrets) as `export NAME=value` lines, readable by the owner only."""
    path = root / STACK_ENV
    path.parent.mkdir(parents=True, exist_ok=True)
    recorded = {name: value for name, value in sorted(env.items())
                if name.startswith(PREFIXES) and name not in NOT_RECORDED}  # fmt: skip
    path.touch(mode=0o600)
    path.chmod(0o600)  # the demo providers' tokens are among them
    path.write_text("".join(f"export {name}={shlex.quote(value)}\n" for name, value in recorded.items()))
    return path


def recorded_settings(root: Path) -> tuple[dict[str, str], list[Path]]:
    """The stack's recorded settings and keys, and the files they came from (none: no stack was started here)."""
    settings: dict[str, str] = {}
    sources = []
    stack_env = root / STACK_ENV
    if stack_env.is_file():
        settings |= {name: value for name, value in dotenv_values(stack_env).items() if value is not None}
        sources.append(stack_env)
    secrets_file = root / SECRETS
    if secrets_file.is_file():
        settings |= secrets.service_env(secrets.load_or_create(secrets_file))
        sources.append(secrets_file)
    return settings, sources


def use_local_stack(environ: MutableMapping[str, str] = os.environ, root: Path | None = None) -> list[Path]:
    """Fill in, from the local stack's files, every setting the environment does not set; say so in one line."""
    settings, sources = recorded_settings(root or local_dir())
    for name, value in settings.items():
        environ.setdefault(name, value)
    if sources:
        where = " and ".join(str(path) for path in sources)
        sys.stderr.write(f"using the local stack's settings from {where} (variables set in the environment win)\n")
    return sources
