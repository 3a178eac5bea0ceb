"""Subject keys (keyed HMAC of identifiers) and envelope encryption of PI with crypto-shreddable data keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from services.common.db import subject_key_column
from services.common.identity import IdentifierKind
from services.common.migrations import upgrade
from services.common.payloads.shared import EncryptedValue


def keyed_hash(secret: bytes, kind: str, normalised_value: str) -> str:
    """HMAC-SHA256 over kind and value: stable per person, useless without the secret."""
    return hmac.new(secret, f"{kind}:{normalised_value}".encode(), hashlib.sha256).hexdigest()


def subject_key_of(secret: bytes, kind: IdentifierKind, normalised_value: str) -> str:
    return keyed_hash(secret, str(kind), normalised_value)


class KeyShredded(LookupError):
    """The data key was destroyed: everything encrypted under it is unreadable by design."""


@dataclass(frozen=True)
class Sealed:
    key_id: str
    nonce: bytes
    ciphertext: bytes

    def to_record(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "nonce": self.nonce, "ciphertext": self.ciphertext}

    @classmethod
    def from_record(cls, record: Mapping[str, Any] | EncryptedValue) -> Sealed:
        if isinstance(record, EncryptedValue):
            return cls(record.key_id, bytes(record.nonce), bytes(record.ciphertext))
        return cls(record["key_id"], bytes(record["nonce"]), bytes(record["ciphertext"]))

    def to_value(self) -> EncryptedValue:
        """As the typed record events carry (privacy.events.EncryptedValue)."""
        return EncryptedValue(key_id=self.key_id, nonce=self.nonce, ciphertext=self.ciphertext)

    def to_json(self) -> dict[str, str]:
        """For JSON columns: the same fields, bytes as base64."""
        return {"key_id": self.key_id, "nonce": base64.b64encode(self.nonce).decode(),
                "ciphertext": base64.b64encode(self.ciphertext).decode()}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> Sealed:
        return cls(data["key_id"], base64.b64decode(data["nonce"]), base64.b64decode(data["ciphertext"]))


metadata = sa.MetaData()
data_keys = sa.Table(
    "data_keys",
    metadata,
    sa.Column("key_id", sa.String(64), primary_key=True),
    subject_key_column(nullable=False, index=True),
    sa.Column("master_key_id", sa.String(64), nullable=False),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("shredded_at", sa.DateTime(timezone=True), nullable=True),
    # One live key per subject even when two first seals race; shredded rows stay as evidence.
    sa.Index(
        "one_live_key_per_subject",
        "subject_key",
        unique=True,
        postgresql_where=sa.text("wrapped_key IS NOT NULL"),
        sqlite_where=sa.text("wrapped_key IS NOT NULL"),
    ),
)


class KeyStore:
    """One AES-256 data key per subject, stored wrapped (RFC 3394) by a master key; shredding deletes it.

    This is the project's stand-in for a KMS: in production point keystore_url at a database only the
    key-holding services can reach, or replace this class with a KMS client of the same shape.
    """

    def __init__(self, engine: sa.Engine, master_keys: Mapping[str, bytes], active_master_key: str) -> None:
        self.engine = engine
        self.master_keys = dict(master_keys)
        self.active_master_key = active_master_key
        from services.common.keystore_migrations import SCHEMA  # its tables are this module's: imported late

        upgrade(SCHEMA, engine)

    def key_for_subject(self, subject_key: str) -> tuple[str, bytes]:
        try:
            return self._live_or_new(subject_key)
        except sa.exc.IntegrityError:
            return self._live_or_new(subject_key)  # a concurrent first seal created it: use that one

    def _live_or_new(self, subject_key: str) -> tuple[str, bytes]:
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(data_keys).where(data_keys.c.subject_key == subject_key, data_keys.c.wrapped_key.is_not(None))
            ).first()
            if row is not None:
                return row.key_id, self._unwrap(row.master_key_id, row.wrapped_key)
            return self._create(conn, subject_key)

    def key_by_id(self, key_id: str) -> bytes:
        return self.subject_key_by_id(key_id)[1]

    def subject_key_by_id(self, key_id: str) -> tuple[str, bytes]:
        """(the subject it belongs to, the data key) of a live key; KeyShredded when it is shredded or unknown."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(data_keys).where(data_keys.c.key_id == key_id)).first()
        if row is None or row.wrapped_key is None:
            raise KeyShredded(f"data key {key_id} is shredded or unknown")
        return row.subject_key, self._unwrap(row.master_key_id, row.wrapped_key)

    def shred_subject(self, subject_key: str) -> int:
        return len(self.shred_subject_keys(subject_key))

    def shred_subject_keys(self, subject_key: str) -> list[str]:
        """Shred every live data key of the subject; the ids of the keys shredded (none when they already were)."""
        live = (data_keys.c.subject_key == subject_key, data_keys.c.wrapped_key.is_not(None))
        with self.engine.begin() as conn:
            key_ids = sorted(conn.execute(sa.select(data_keys.c.key_id).where(*live).with_for_update()).scalars())
            if key_ids:
                conn.execute(sa.update(data_keys).where(data_keys.c.key_id.in_(key_ids))
                             .values(wrapped_key=None, shredded_at=datetime.now(UTC)))  # fmt: skip
        return key_ids

    def rewrap_all(self) -> int:
        """Re-wrap every live data key under the active master key, so an old master key can be retired."""
        count = 0
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(data_keys).where(data_keys.c.wrapped_key.is_not(None))).all()
            for row in rows:
                if row.master_key_id == self.active_master_key:
                    continue
                wrapped = self._wrap(self._unwrap(row.master_key_id, row.wrapped_key))
                conn.execute(
                    sa.update(data_keys)
                    .where(data_keys.c.key_id == row.key_id)
                    .values(wrapped_key=wrapped, master_key_id=self.active_master_key)
                )
                count += 1
        return count

    def _create(self, conn: sa.Connection, subject_key: str) -> tuple[str, bytes]:
        key_id, key = f"dk-{uuid.uuid4().hex}", AESGCM.generate_key(bit_length=256)
        conn.execute(
            sa.insert(data_keys).values(
                key_id=key_id,
                subject_key=subject_key,
                master_key_id=self.active_master_key,
                wrapped_key=self._wrap(key),
                created_at=datetime.now(UTC),
            )
        )
        return key_id, key

    def _wrap(self, key: bytes) -> bytes:
        return aes_key_wrap(self.master_keys[self.active_master_key], key)

    def _unwrap(self, master_key_id: str, wrapped: bytes) -> bytes:
        if master_key_id not in self.master_keys:
            raise KeyError(f"master key {master_key_id!r} is needed but not configured in CCPA_MASTER_KEYS")
        try:
            return aes_key_unwrap(self.master_keys[master_key_id], wrapped)
        except InvalidUnwrap:
            raise ValueError(
                f"master key {master_key_id!r} in CCPA_MASTER_KEYS does not unwrap this data key: "
                "wrong key bytes for that id"
            ) from None


class ScopedKeys:
    """The key store's answers held for one unit of work (one discovery walk): a key read to open the request's
    identifiers seals its report too, without a second and third trip to the key store. Never held longer: a key
    shredded after the scope ends is not served from it."""

    def __init__(self, keystore: KeyStore) -> None:
        self.keystore = keystore
        self._by_id: dict[str, bytes] = {}
        self._by_subject: dict[str, tuple[str, bytes]] = {}

    def key_for_subject(self, subject_key: str) -> tuple[str, bytes]:
        if subject_key not in self._by_subject:
            self._keep(subject_key, *self.keystore.key_for_subject(subject_key))
        return self._by_subject[subject_key]

    def key_by_id(self, key_id: str) -> bytes:
        if key_id not in self._by_id:
            subject_key, key = self.keystore.subject_key_by_id(key_id)
            self._keep(subject_key, key_id, key)
        return self._by_id[key_id]

    def _keep(self, subject_key: str, key_id: str, key: bytes) -> None:
        # A live key of the subject is what key_for_subject answers: any one of them seals for that subject.
        self._by_id[key_id] = key
        self._by_subject.setdefault(subject_key, (key_id, key))


class Sealer:
    """Encrypts JSON documents of PI for one subject, bound to request and subject by associated data."""

    def __init__(self, keystore: KeyStore | ScopedKeys) -> None:
        self.keystore = keystore

    def scoped(self) -> Sealer:
        """A sealer for one unit of work whose key reads are each made once (ScopedKeys)."""
        keystore = self.keystore.keystore if isinstance(self.keystore, ScopedKeys) else self.keystore
        return Sealer(ScopedKeys(keystore))

    def seal(self, document: Mapping[str, Any], subject_key: str, request_id: str) -> Sealed:
        return self.seal_bytes(json.dumps(document, sort_keys=True).encode(), subject_key, request_id)

    def open(self, sealed: Sealed, subject_key: str, request_id: str) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.open_bytes(sealed, subject_key, request_id))
        return document

    def seal_bytes(self, plaintext: bytes, subject_key: str, request_id: str) -> Sealed:
        """Binary documents (a rendered report, a zip) under the subject's shreddable data key."""
        return self.seal_all([plaintext], subject_key, request_id)[0]

    def seal_all(self, plaintexts: Sequence[bytes], subject_key: str, request_id: str) -> list[Sealed]:
        """Several documents of one subject and request under its data key, fetched from the key store once."""
        key_id, key = self.keystore.key_for_subject(subject_key)
        cipher, aad = AESGCM(key), _aad(request_id, subject_key)
        sealed = []
        for plaintext in plaintexts:
            nonce = os.urandom(12)
            sealed.append(Sealed(key_id, nonce, cipher.encrypt(nonce, plaintext, aad)))
        return sealed

    def open_bytes(self, sealed: Sealed, subject_key: str, request_id: str) -> bytes:
        key = self.keystore.key_by_id(sealed.key_id)
        return AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, _aad(request_id, subject_key))


def _aad(request_id: str, subject_key: str) -> bytes:
    return f"{request_id}|{subject_key}".encode()
