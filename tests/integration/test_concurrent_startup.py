"""Services starting together against a shared database (the key store) must not trip over each other's DDL."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from devtools.localstack import DatabaseServer
from services.common.crypto import KeyStore
from tests.support import run_at_once

pytestmark = pytest.mark.integration


def test_concurrent_key_store_creation_succeeds_every_time(postgres_server: DatabaseServer) -> None:
    errors: list[str] = []
    for round_number in range(8):
        name = f"keystore_race_{round_number}_{threading.get_ident() % 10_000}"
        url = postgres_server.create_database(name)
        engines = [sa.create_engine(url) for _ in range(4)]
        errors += run_at_once(lambda engine: KeyStore(engine, {"m1": b"k" * 32}, "m1").key_for_subject("subject"),
                              engines, timeout=30)  # fmt: skip
        for engine in engines:
            engine.dispose()
        postgres_server.drop_database(name)
    assert errors == []
