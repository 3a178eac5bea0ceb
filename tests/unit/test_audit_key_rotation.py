"""Audit's retired verify keys: the setting takes a JSON list or a comma list of public keys and refuses anything
else without echoing it, and `ccpa audit verify` checks checkpoints of a retired key only when the key is listed."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from services.audit import checkpoints
from services.audit.migrations import SCHEMA
from services.audit.settings import AuditSettings
from services.cli import cli
from services.common.db import make_engine
from services.common.migrations import upgrade
from tests.unit.test_audit_chain import KEY, PUBLIC
from tests.unit.test_audit_handlers import STREAM, apply
from tests.unit.test_audit_proof import ENV

RETIRED, CURRENT = (Ed25519PrivateKey.from_private_bytes(seed * 32) for seed in (b"r", b"c"))
RETIRED_PUBLIC, CURRENT_PUBLIC = (checkpoints.public_key_bytes(key.public_key()) for key in (RETIRED, CURRENT))
BEFORE, AFTER = STREAM[:4], STREAM[4:]  # one request's entries, then the other request's and a device signal
RETIRED_B64 = base64.b64encode(RETIRED_PUBLIC).decode()
OTHER_B64 = base64.b64encode(checkpoints.public_key_bytes(KEY.public_key())).decode()


@pytest.fixture
def rotated(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    upgrade(SCHEMA, engine)
    for deliveries, key in ((BEFORE, RETIRED), (AFTER, KEY)):  # KEY is ENV's CCPA_AUDIT_SIGNING_KEY
        apply(engine, deliveries)
        with engine.begin() as conn:
            checkpoints.take(conn, key, datetime.now(UTC))
    yield engine
    engine.dispose()


@pytest.mark.parametrize("listed", [RETIRED_B64, f" {RETIRED_B64} , {OTHER_B64},", json.dumps([RETIRED_B64])])
def test_retired_keys_join_the_signing_key_in_the_key_ring(listed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**ENV, "CCPA_AUDIT_RETIRED_VERIFY_KEYS": listed}.items():
        monkeypatch.setenv(name, value)
    keys = AuditSettings().verify_keys()
    assert keys[checkpoints.key_id(RETIRED.public_key())] == RETIRED_PUBLIC
    assert keys[checkpoints.key_id(KEY.public_key())] == PUBLIC


@pytest.mark.parametrize("listed", ["not base64!", base64.b64encode(b"short").decode(), '["unclosed'])
def test_a_retired_key_that_is_no_public_key_is_refused(listed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**ENV, "CCPA_AUDIT_RETIRED_VERIFY_KEYS": listed}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=r"CCPA_AUDIT_RETIRED_VERIFY_KEYS|retired_verify_keys"):
        AuditSettings()


def test_verify_accepts_a_retired_key_only_once_it_is_listed(rotated: sa.Engine) -> None:
    command = ["audit", "verify", "--database-url", str(rotated.url)]
    unknown = CliRunner().invoke(cli(), command, env=ENV)
    assert unknown.exit_code == 1
    assert f"TAMPERED checkpoint 1: signed by key {checkpoints.key_id(RETIRED.public_key())}" in unknown.output
    listed = CliRunner().invoke(cli(), command, env={**ENV, "CCPA_AUDIT_RETIRED_VERIFY_KEYS": RETIRED_B64})
    assert listed.exit_code == 0, listed.output
    assert "audit chain intact" in listed.output and "2 signed checkpoint(s)" in listed.output
