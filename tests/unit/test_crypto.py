"""Unit tests of envelope encryption: sealing PI per subject, binding to a request, shredding, rotation."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag

from services.common.crypto import (
    KeyShredded,
    KeyStore,
    Sealed,
    Sealer,
    data_keys,
    keyed_hash,
    subject_key_of,
)
from services.common.identity import IdentifierKind

OLD_KEK, NEW_KEK = "kek-2025", "kek-2026"
MASTER_KEYS = {OLD_KEK: os.urandom(32), NEW_KEK: os.urandom(32)}
ALICE, BOB = "a1" * 32, "b2" * 32
REQUEST, OTHER_REQUEST = "0b8a2c1e-0000-4000-8000-000000000001", "0b8a2c1e-0000-4000-8000-000000000002"
IDENTIFIERS = {"email": "alice.smith@example.com", "phone": "+14155550132"}


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool, connect_args={"check_same_thread": False})
    yield engine
    engine.dispose()


@pytest.fixture
def keystore(engine: sa.Engine) -> KeyStore:
    return KeyStore(engine, {OLD_KEK: MASTER_KEYS[OLD_KEK]}, OLD_KEK)


@pytest.fixture
def sealer(keystore: KeyStore) -> Sealer:
    return Sealer(keystore)


def key_rows(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(data_keys).order_by(data_keys.c.created_at)).all())


class TestSealAndOpen:
    def test_round_trip(self, sealer: Sealer) -> None:
        sealed = sealer.seal(IDENTIFIERS, ALICE, REQUEST)
        assert sealer.open(sealed, ALICE, REQUEST) == IDENTIFIERS

    def test_round_trip_of_unicode_and_nested_values(self, sealer: Sealer) -> None:
        document = {"name": "Zoë Ångström", "addresses": [{"zip": "94105"}], "count": 3, "none": None}
        assert sealer.open(sealer.seal(document, ALICE, REQUEST), ALICE, REQUEST) == document

    def test_ciphertext_hides_the_plaintext(self, sealer: Sealer) -> None:
        sealed = sealer.seal(IDENTIFIERS, ALICE, REQUEST)
        assert b"alice.smith" not in sealed.ciphertext
        assert b"4155550132" not in sealed.ciphertext
        assert json.dumps(IDENTIFIERS, sort_keys=True).encode() not in sealed.ciphertext
        # AES-GCM: ciphertext is the plaintext's length plus the 16-byte tag; the nonce is 96 bits.
        assert len(sealed.ciphertext) == len(json.dumps(IDENTIFIERS, sort_keys=True)) + 16
        assert len(sealed.nonce) == 12

    def test_seal_all_seals_each_document_under_one_key_with_its_own_nonce(self, sealer: Sealer) -> None:
        documents = [b"report as json", b"PK zip bytes", b"<html>letter</html>"]
        sealed = sealer.seal_all(documents, ALICE, REQUEST)
        assert [sealer.open_bytes(one, ALICE, REQUEST) for one in sealed] == documents
        assert len({one.key_id for one in sealed}) == 1 and len({one.nonce for one in sealed}) == 3
        assert sealed[0].key_id == sealer.seal_bytes(b"later", ALICE, REQUEST).key_id  # the subject's one live key
        with pytest.raises(InvalidTag):
            sealer.open_bytes(sealed[1], ALICE, OTHER_REQUEST)

    def test_each_seal_uses_a_fresh_nonce(self, sealer: Sealer) -> None:
        first, second = (sealer.seal(IDENTIFIERS, ALICE, REQUEST) for _ in range(2))
        assert first.nonce != second.nonce
        assert first.ciphertext != second.ciphertext

    @pytest.mark.parametrize(("subject", "request_id"), [(ALICE, OTHER_REQUEST), (BOB, REQUEST), (BOB, OTHER_REQUEST)])
    def test_associated_data_binds_request_and_subject(self, sealer: Sealer, subject: str, request_id: str) -> None:
        sealed = sealer.seal(IDENTIFIERS, ALICE, REQUEST)
        with pytest.raises(InvalidTag):
            sealer.open(sealed, subject, request_id)

    def test_tampered_ciphertext_is_refused(self, sealer: Sealer) -> None:
        sealed = sealer.seal(IDENTIFIERS, ALICE, REQUEST)
        flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
        with pytest.raises(InvalidTag):
            sealer.open(Sealed(sealed.key_id, sealed.nonce, flipped), ALICE, REQUEST)

    def test_record_round_trip_accepts_memoryview(self, sealer: Sealer) -> None:
        sealed = sealer.seal(IDENTIFIERS, ALICE, REQUEST)
        record = sealed.to_record()
        assert record == {"key_id": sealed.key_id, "nonce": sealed.nonce, "ciphertext": sealed.ciphertext}
        from_db = {**record, "nonce": memoryview(sealed.nonce), "ciphertext": bytearray(sealed.ciphertext)}
        assert Sealed.from_record(from_db) == sealed


class TestDataKeys:
    def test_one_key_per_subject_reused(self, sealer: Sealer, engine: sa.Engine) -> None:
        first = sealer.seal(IDENTIFIERS, ALICE, REQUEST)
        second = sealer.seal({"account_id": "A-1"}, ALICE, OTHER_REQUEST)
        assert first.key_id == second.key_id
        assert [row.subject_key for row in key_rows(engine)] == [ALICE]

    def test_different_subjects_get_different_keys(self, sealer: Sealer, keystore: KeyStore, engine: sa.Engine) -> None:
        alice = sealer.seal(IDENTIFIERS, ALICE, REQUEST)
        bob = sealer.seal(IDENTIFIERS, BOB, REQUEST)
        assert alice.key_id != bob.key_id
        assert keystore.key_by_id(alice.key_id) != keystore.key_by_id(bob.key_id)
        assert sorted(row.subject_key for row in key_rows(engine)) == sorted([ALICE, BOB])

    def test_key_is_256_bits_and_stored_wrapped(self, keystore: KeyStore, engine: sa.Engine) -> None:
        key_id, key = keystore.key_for_subject(ALICE)
        (row,) = key_rows(engine)
        assert len(key) == 32
        assert row.key_id == key_id and row.master_key_id == OLD_KEK
        assert key not in row.wrapped_key
        assert len(row.wrapped_key) == 40  # RFC 3394 adds one 8-byte block

    def test_unknown_key_id(self, keystore: KeyStore) -> None:
        with pytest.raises(KeyShredded, match="dk-nope"):
            keystore.key_by_id("dk-nope")


class TestShredding:
    def test_shred_makes_every_copy_unreadable(self, sealer: Sealer, keystore: KeyStore) -> None:
        copies = [sealer.seal(IDENTIFIERS, ALICE, request) for request in (REQUEST, OTHER_REQUEST)]
        assert keystore.shred_subject(ALICE) == 1
        for sealed, request in zip(copies, (REQUEST, OTHER_REQUEST), strict=True):
            with pytest.raises(KeyShredded):
                sealer.open(sealed, ALICE, request)

    def test_shred_leaves_other_subjects_readable(self, sealer: Sealer, keystore: KeyStore) -> None:
        sealer.seal(IDENTIFIERS, ALICE, REQUEST)
        bob = sealer.seal(IDENTIFIERS, BOB, REQUEST)
        keystore.shred_subject(ALICE)
        assert sealer.open(bob, BOB, REQUEST) == IDENTIFIERS

    def test_shred_is_recorded_and_idempotent(self, sealer: Sealer, keystore: KeyStore, engine: sa.Engine) -> None:
        sealer.seal(IDENTIFIERS, ALICE, REQUEST)
        assert keystore.shred_subject(ALICE) == 1
        assert keystore.shred_subject(ALICE) == 0
        (row,) = key_rows(engine)
        assert row.wrapped_key is None and row.shredded_at is not None

    def test_shred_of_unknown_subject_counts_nothing(self, keystore: KeyStore) -> None:
        assert keystore.shred_subject("ff" * 32) == 0

    def test_new_seal_after_shred_uses_a_new_key(self, sealer: Sealer, keystore: KeyStore, engine: sa.Engine) -> None:
        before = sealer.seal(IDENTIFIERS, ALICE, REQUEST)
        keystore.shred_subject(ALICE)
        after = sealer.seal(IDENTIFIERS, ALICE, OTHER_REQUEST)
        assert after.key_id != before.key_id
        assert sealer.open(after, ALICE, OTHER_REQUEST) == IDENTIFIERS
        assert len(key_rows(engine)) == 2

    def test_shredded_error_is_a_lookup_error(self) -> None:
        assert issubclass(KeyShredded, LookupError)


class TestMasterKeyRotation:
    def test_rewrap_lets_the_old_master_key_go(self, engine: sa.Engine, sealer: Sealer) -> None:
        sealed = {subject: sealer.seal({"subject": subject}, subject, REQUEST) for subject in (ALICE, BOB)}
        rotating = KeyStore(engine, MASTER_KEYS, NEW_KEK)
        assert rotating.rewrap_all() == 2
        assert {row.master_key_id for row in key_rows(engine)} == {NEW_KEK}
        retired = Sealer(KeyStore(engine, {NEW_KEK: MASTER_KEYS[NEW_KEK]}, NEW_KEK))
        for subject, value in sealed.items():
            assert retired.open(value, subject, REQUEST) == {"subject": subject}

    def test_rewrap_keeps_the_data_key_and_its_id(self, engine: sa.Engine, keystore: KeyStore) -> None:
        key_id, key = keystore.key_for_subject(ALICE)
        KeyStore(engine, MASTER_KEYS, NEW_KEK).rewrap_all()
        retired = KeyStore(engine, {NEW_KEK: MASTER_KEYS[NEW_KEK]}, NEW_KEK)
        assert retired.key_for_subject(ALICE) == (key_id, key)

    def test_rewrap_skips_current_and_shredded_keys(self, engine: sa.Engine, keystore: KeyStore) -> None:
        keystore.key_for_subject(ALICE)
        keystore.key_for_subject(BOB)
        keystore.shred_subject(BOB)
        rotating = KeyStore(engine, MASTER_KEYS, NEW_KEK)
        assert rotating.rewrap_all() == 1
        assert rotating.rewrap_all() == 0

    def test_new_keys_are_wrapped_by_the_active_master_key(self, engine: sa.Engine, keystore: KeyStore) -> None:
        keystore.key_for_subject(ALICE)
        KeyStore(engine, MASTER_KEYS, NEW_KEK).key_for_subject(BOB)
        wrapped_by = {row.subject_key: row.master_key_id for row in key_rows(engine)}
        assert wrapped_by == {ALICE: OLD_KEK, BOB: NEW_KEK}

    def test_missing_master_key_is_named(self, engine: sa.Engine, sealer: Sealer) -> None:
        sealed = sealer.seal(IDENTIFIERS, ALICE, REQUEST)
        premature = Sealer(KeyStore(engine, {NEW_KEK: MASTER_KEYS[NEW_KEK]}, NEW_KEK))
        with pytest.raises(KeyError) as raised:
            premature.open(sealed, ALICE, REQUEST)
        assert OLD_KEK in raised.value.args[0]
        assert "CCPA_MASTER_KEYS" in raised.value.args[0]

    def test_wrong_master_key_material_is_detected(self, engine: sa.Engine, keystore: KeyStore) -> None:
        key_id, _ = keystore.key_for_subject(ALICE)
        impostor = KeyStore(engine, {OLD_KEK: os.urandom(32)}, OLD_KEK)
        with pytest.raises(ValueError, match=OLD_KEK):
            impostor.key_by_id(key_id)


class TestSubjectKeys:
    SECRET = b"s" * 32

    def test_stable_for_same_secret_and_input(self) -> None:
        first = subject_key_of(self.SECRET, IdentifierKind.EMAIL, "alice@example.com")
        assert first == subject_key_of(self.SECRET, IdentifierKind.EMAIL, "alice@example.com")
        assert len(first) == 64 and int(first, 16) >= 0

    def test_differs_for_another_secret(self) -> None:
        assert subject_key_of(self.SECRET, IdentifierKind.EMAIL, "alice@example.com") != subject_key_of(
            b"t" * 32, IdentifierKind.EMAIL, "alice@example.com"
        )

    def test_differs_for_another_kind_with_the_same_value(self) -> None:
        assert subject_key_of(self.SECRET, IdentifierKind.ACCOUNT_ID, "12345") != subject_key_of(
            self.SECRET, IdentifierKind.DEVICE_ID, "12345"
        )

    def test_differs_for_another_value(self) -> None:
        assert subject_key_of(self.SECRET, IdentifierKind.EMAIL, "alice@example.com") != subject_key_of(
            self.SECRET, IdentifierKind.EMAIL, "bob@example.com"
        )

    def test_is_hmac_sha256_of_kind_and_value(self) -> None:
        expected = hmac.new(self.SECRET, b"email:a@b.co", hashlib.sha256).hexdigest()
        assert subject_key_of(self.SECRET, IdentifierKind.EMAIL, "a@b.co") == expected
        assert keyed_hash(self.SECRET, "email", "a@b.co") == expected

    def test_does_not_contain_the_value(self) -> None:
        key = subject_key_of(self.SECRET, IdentifierKind.PHONE, "+14155550132")
        assert "4155550132" not in key


def test_only_one_live_key_per_subject_is_possible() -> None:
    import sqlalchemy as sa
    from sqlalchemy.pool import StaticPool

    from services.common.crypto import KeyStore, data_keys

    engine = sa.create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    store = KeyStore(engine, {"m1": b"k" * 32}, "m1")
    store.key_for_subject("subject-a")
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        store._create(conn, "subject-a")  # what a racing first seal would try
    store.shred_subject("subject-a")
    fresh_id, _ = store.key_for_subject("subject-a")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(data_keys.c.key_id, data_keys.c.wrapped_key)).all()
    assert len(rows) == 2 and [r.key_id for r in rows if r.wrapped_key is not None] == [fresh_id]


def test_a_scoped_sealer_reads_the_key_store_once_per_key(engine: sa.Engine) -> None:
    sealer = Sealer(KeyStore(engine, MASTER_KEYS, NEW_KEK))
    sealed = sealer.seal(IDENTIFIERS, ALICE, REQUEST)
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    scoped = sealer.scoped()
    assert scoped.open(sealed, ALICE, REQUEST) == IDENTIFIERS
    found = scoped.seal({"email": ["alice.smith@example.com"]}, ALICE, REQUEST)
    report = scoped.seal_all([b"json", b"csv", b"html"], ALICE, REQUEST)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1, statements
    assert {found.key_id, *(r.key_id for r in report)} == {sealed.key_id}, "sealed under the key that opened it"
    assert sealer.open_bytes(report[2], ALICE, REQUEST) == b"html", "the unscoped sealer opens what it sealed"


def test_a_new_scope_does_not_serve_a_key_shredded_since(engine: sa.Engine) -> None:
    keystore = KeyStore(engine, MASTER_KEYS, NEW_KEK)
    sealer = Sealer(keystore)
    sealed = sealer.seal(IDENTIFIERS, ALICE, REQUEST)
    first = sealer.scoped()
    first.open(sealed, ALICE, REQUEST)
    keystore.shred_subject(ALICE)
    with pytest.raises(KeyShredded):
        first.scoped().open(sealed, ALICE, REQUEST)
    bob = sealer.scoped()
    with pytest.raises(KeyShredded):
        bob.open(sealed, ALICE, REQUEST)
    assert bob.seal({"x": 1}, BOB, REQUEST).key_id != sealed.key_id, "another subject's key is its own"
