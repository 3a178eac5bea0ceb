"""Rotating audit's signing key, on each database audit runs on: checkpoints signed before and after the rotation
all verify under the key each names, a checkpoint under a key audit does not know is caught and named, and a proof
bundle carries the public key of the checkpoint covering it."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.audit import checkpoints, proof
from services.audit.migrations import SCHEMA
from services.audit.verify import verify
from services.common.db import make_engine
from services.common.migrations import upgrade
from tests.unit.test_audit_handlers import CORRECT_ID, STREAM, apply
from tests.unit.test_audit_key_rotation import AFTER, BEFORE, CURRENT, CURRENT_PUBLIC, RETIRED, RETIRED_PUBLIC

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def rotated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A timeline checkpointed under the retired key, then, after the rotation, under the current key."""
    url = str(request.getfixturevalue("pg_url")) if request.param == "postgresql" else f"sqlite:///{tmp_path}/a.db"
    engine = make_engine(url)
    upgrade(SCHEMA, engine)
    for deliveries, key in ((BEFORE, RETIRED), (AFTER, CURRENT)):
        apply(engine, deliveries)
        with engine.begin() as conn:
            assert checkpoints.take(conn, key, datetime.now(UTC)) is not None
    yield engine
    engine.dispose()


def test_checkpoints_before_and_after_a_rotation_all_verify(rotated: sa.Engine) -> None:
    verdict = verify(rotated, checkpoints.key_ring([RETIRED_PUBLIC, CURRENT_PUBLIC]))
    assert verdict.intact, verdict.problems
    assert (verdict.checkpoints, verdict.entries) == (2, len(STREAM))


def test_a_checkpoint_under_a_key_audit_does_not_know_is_named(rotated: sa.Engine) -> None:
    retired_id = checkpoints.key_id(RETIRED.public_key())
    verdict = verify(rotated, checkpoints.key_ring([CURRENT_PUBLIC]))
    assert verdict.problems == [f"checkpoint 1: signed by key {retired_id}, which audit does not know (a retired "
                                "key's public key goes in CCPA_AUDIT_RETIRED_VERIFY_KEYS)"]  # fmt: skip


def test_a_bundle_carries_the_public_key_of_its_covering_checkpoint(rotated: sa.Engine) -> None:
    retired = checkpoints.key_ring([RETIRED_PUBLIC])
    bundle = proof.export(rotated, CORRECT_ID, CURRENT, retired)
    assert bundle["checkpoint"]["body"]["sequence"] == 1
    assert base64.b64decode(bundle["public_key"]) == RETIRED_PUBLIC
    assert proof.check(bundle) == []
    with pytest.raises(proof.ProofError, match=r"signed by key \w+, which audit does not know"):
        proof.export(rotated, CORRECT_ID, CURRENT)
