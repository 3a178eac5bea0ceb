"""Proof bundles and the `ccpa audit verify` / `ccpa audit proof` commands: a bundle checks offline, any change
to it is caught, and verify's exit code says whether a database is intact."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from services.audit import orm, proof
from services.audit.migrations import SCHEMA
from services.cli import cli
from services.common.db import make_engine
from services.common.migrations import upgrade
from tests.unit.test_audit_chain import KEY
from tests.unit.test_audit_handlers import CORRECT_ID, DELETE_ID, SEALED_MARKERS, STREAM, apply

SECRET = base64.b64encode(b"k" * 32).decode()
ENV = {"CCPA_SUBJECT_KEY_SECRET": SECRET, "CCPA_MASTER_KEYS": json.dumps({"t": SECRET}), "CCPA_ACTIVE_MASTER_KEY": "t",
       "CCPA_API_TOKEN": "t" * 32, "CCPA_AUDIT_SIGNING_KEY": base64.b64encode(b"s" * 32).decode()}  # fmt: skip


@pytest.fixture
def audit_db(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    upgrade(SCHEMA, engine)
    apply(engine, STREAM)
    yield engine
    engine.dispose()


@pytest.fixture
def bundle(audit_db: sa.Engine) -> dict[str, Any]:
    return proof.export(audit_db, CORRECT_ID, KEY)


def test_an_exported_bundle_holds_offline(bundle: dict[str, Any]) -> None:
    assert proof.check(bundle) == []
    assert [linked["entry"]["event_type"] for linked in bundle["entries"]] == [
        "RequestSubmitted", "RequestFailed", "RequestExtended", "RequestDenied"]  # fmt: skip
    assert bundle["checkpoint"]["body"]["sequence"] == 1  # export signed the checkpoint the request lacked


def test_a_second_export_reuses_the_covering_checkpoint(audit_db: sa.Engine, bundle: dict[str, Any]) -> None:
    assert proof.export(audit_db, CORRECT_ID, KEY)["checkpoint"] == bundle["checkpoint"]


@pytest.mark.parametrize("change", ["content", "dropped", "swapped", "signature", "other key", "other request"])
def test_any_change_to_a_bundle_is_caught(bundle: dict[str, Any], change: str) -> None:
    forged = copy.deepcopy(bundle)
    entries = forged["entries"]
    if change == "content":
        entries[2]["entry"]["details"]["reason"] = "none"
    elif change == "dropped":
        del entries[1]
    elif change == "swapped":
        entries[1], entries[2] = entries[2], entries[1]
    elif change == "signature":
        forged["checkpoint"]["body"]["signed_at"] = "2020-01-01T00:00:00.000000+00:00"
    elif change == "other key":
        forged["public_key"] = base64.b64encode(b"\x01" * 32).decode()
    else:
        forged["request_id"] = DELETE_ID
    assert proof.check(forged) != []


def test_no_sealed_identifier_is_in_a_bundle(bundle: dict[str, Any]) -> None:
    text = json.dumps(bundle)
    assert not any(marker.decode(errors="ignore").strip("\x00") in text for marker in SEALED_MARKERS)
    assert "identifiers" not in {key for linked in bundle["entries"] for key in linked["entry"]["details"]}


def run(*arguments: str) -> Any:
    return CliRunner().invoke(cli(), list(arguments), env=ENV)


def test_verify_exits_zero_on_an_intact_database_and_one_on_a_tampered_one(audit_db: sa.Engine) -> None:
    url = str(audit_db.url)
    intact = run("audit", "verify", "--database-url", url)
    assert intact.exit_code == 0, intact.output
    assert "audit chain intact: 8 entries" in intact.output
    with audit_db.begin() as conn:
        conn.execute(sa.delete(orm.timeline).where(orm.timeline.c.event_type == "RequestExtended"))
    broken = run("audit", "verify", "--database-url", url)
    assert broken.exit_code == 1
    assert "TAMPERED request chain" in broken.output and "an entry was deleted" in broken.output


def test_proof_exports_and_checks_a_bundle_file(audit_db: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "proof.json"
    exported = run("audit", "proof", CORRECT_ID, "--database-url", str(audit_db.url), "--output", str(path))
    assert exported.exit_code == 0, exported.output
    checked = run("audit", "proof", "--check", str(path))
    assert checked.exit_code == 0 and "the bundle holds" in checked.output
    forged = json.loads(path.read_text())
    forged["entries"][0]["entry"]["event_type"] = "RequestDenied"
    path.write_text(json.dumps(forged))
    refused = run("audit", "proof", "--check", str(path))
    assert refused.exit_code == 1 and "DOES NOT HOLD entry 1" in refused.output


def test_proof_of_an_unknown_or_malformed_request_is_a_clear_refusal(audit_db: sa.Engine) -> None:
    unknown = run("audit", "proof", "99999999-9999-4999-8999-999999999999", "--database-url", str(audit_db.url))
    assert unknown.exit_code == 1 and "no timeline for this request" in unknown.output
    malformed = run("audit", "proof", "alice@example.com", "--database-url", str(audit_db.url))
    assert malformed.exit_code == 1 and "alice@example.com" not in malformed.output and "UUID" in malformed.output
    assert "Traceback" not in unknown.output + malformed.output


def test_verify_without_a_signing_key_is_refused_naming_the_setting(audit_db: sa.Engine) -> None:
    refused = CliRunner().invoke(cli(), ["audit", "verify", "--database-url", str(audit_db.url)],
                                 env={**ENV, "CCPA_AUDIT_SIGNING_KEY": ""})  # fmt: skip
    assert refused.exit_code == 1 and "CCPA_AUDIT_SIGNING_KEY" in refused.output and "Traceback" not in refused.output
