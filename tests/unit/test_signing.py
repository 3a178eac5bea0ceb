"""Unit tests of signed requests: the canonical string, verification, the replay window and the nonce stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.db import make_engine
from services.common.signing import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    DuplicateRequest,
    MemoryNonceStore,
    SignatureRejected,
    SignedRequest,
    SqlNonceStore,
    Verifier,
    canonical_string,
    nonce_table,
    sign,
    signature,
)

SECRET = b"test-secret"
NOW = 1_700_000_000.0
PATH = "/privacy/v1/deletions"
BODY = b'{"instruction_id":"i-1"}'


class FrozenClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def signed(body: bytes = BODY, key: str | None = "i-1", now: float = NOW, secret: bytes = SECRET,
           method: str = "POST", path: str = PATH) -> SignedRequest:  # fmt: skip
    return SignedRequest(method, path, body, sign(secret, method, path, body, key, now=now))


@pytest.fixture
def verifier() -> Verifier:
    clock = FrozenClock()
    return Verifier(MemoryNonceStore(clock), tolerance_seconds=300, clock=clock)


def test_the_canonical_string_is_timestamp_method_path_and_body_digest() -> None:
    canonical = canonical_string(1_700_000_000, "post", PATH, BODY)
    digest = "951293731262adbd4a5a68ce04fbb0975645924b96f5f443c93dbdab0c3878eb"
    assert canonical == f"1700000000.POST.{PATH}.{digest}".encode()
    # The test vector of docs/providers.md.
    assert signature(SECRET, canonical) == "70278f8070f90b8732c977eeb7a10626f38b988035670e086c9eeadba52db07a"


def test_sign_gives_timestamp_signature_and_idempotency_headers() -> None:
    headers = sign(SECRET, "POST", PATH, BODY, "i-1", now=NOW)
    assert headers[TIMESTAMP_HEADER] == "1700000000"
    assert headers[SIGNATURE_HEADER] == "v1=70278f8070f90b8732c977eeb7a10626f38b988035670e086c9eeadba52db07a"
    assert headers[IDEMPOTENCY_HEADER] == "i-1"
    assert IDEMPOTENCY_HEADER not in sign(SECRET, "GET", f"{PATH}/i-1", b"", now=NOW)
    with pytest.raises(ValueError, match="signing secret is empty"):
        sign(b"", "POST", PATH, BODY)


def test_a_good_signature_verifies_and_gives_the_idempotency_key(verifier: Verifier) -> None:
    assert verifier.verify(SECRET, signed()) == "i-1"
    lowered = signed(key="i-2", now=NOW + 1)
    as_received = SignedRequest("POST", PATH, BODY, {name.lower(): value for name, value in lowered.headers.items()})
    assert verifier.verify(SECRET, as_received) == "i-2"


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (SignedRequest("POST", PATH, BODY + b" ", signed().headers), "does not match"),
        (SignedRequest("POST", PATH + "x", BODY, signed().headers), "does not match"),
        (SignedRequest("PUT", PATH, BODY, signed().headers), "does not match"),
        (signed(secret=b"another-secret"), "does not match"),
        (SignedRequest("POST", PATH, BODY, {**signed().headers, TIMESTAMP_HEADER: "1700000001"}), "does not match"),
        (SignedRequest("POST", PATH, BODY, {**signed().headers, SIGNATURE_HEADER: "v2=00"}), "malformed"),
        (SignedRequest("POST", PATH, BODY, {**signed().headers, SIGNATURE_HEADER: "v1=é"}), "does not match"),
        (SignedRequest("POST", PATH, BODY, {TIMESTAMP_HEADER: "soon"}), "malformed X-CCPA-Timestamp"),
    ],
    ids=[
        "tampered-body",
        "other-path",
        "other-method",
        "wrong-secret",
        "moved-timestamp",
        "scheme",
        "non-ascii",
        "timestamp",
    ],
)
def test_a_tampered_or_wrongly_signed_request_is_rejected(
    verifier: Verifier, request_: SignedRequest, reason: str
) -> None:
    with pytest.raises(SignatureRejected, match=reason):
        verifier.verify(SECRET, request_)


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_timestamp_outside_the_window_is_rejected(verifier: Verifier, skew: int) -> None:
    with pytest.raises(SignatureRejected, match="outside the 300 s window"):
        verifier.verify(SECRET, signed(now=NOW + skew))
    assert verifier.verify(SECRET, signed(now=NOW + skew / abs(skew) * 300)) == "i-1"


def test_a_replayed_request_is_rejected(verifier: Verifier) -> None:
    request = signed()
    verifier.verify(SECRET, request)
    with pytest.raises(SignatureRejected, match="replayed"):
        verifier.verify(SECRET, request)


def test_a_fresh_signature_with_a_used_idempotency_key_is_a_duplicate(verifier: Verifier) -> None:
    verifier.verify(SECRET, signed(), scope="mailer")
    with pytest.raises(DuplicateRequest) as raised:
        verifier.verify(SECRET, signed(now=NOW + 1), scope="mailer")
    assert raised.value.idempotency_key == "i-1"
    assert verifier.verify(SECRET, signed(now=NOW + 2), scope="shipper") == "i-1"


def test_no_secret_verifies_nothing(verifier: Verifier) -> None:
    with pytest.raises(SignatureRejected, match="no signing secret"):
        verifier.verify(b"", signed())


def test_memory_nonces_expire_after_their_window() -> None:
    clock = FrozenClock()
    nonces = MemoryNonceStore(clock)
    assert nonces.claim("sig:a", int(NOW) + 300)
    assert not nonces.claim("sig:a", int(NOW) + 300)
    clock.now = NOW + 301
    assert nonces.claim("sig:a", int(NOW) + 601)


@pytest.fixture
def sql_nonces(tmp_path: Path) -> Iterator[SqlNonceStore]:
    engine = make_engine(f"sqlite:///{tmp_path / 'nonces.db'}")
    metadata = sa.MetaData()
    table = nonce_table(metadata)
    metadata.create_all(engine)
    yield SqlNonceStore(engine, table, clock=FrozenClock())
    engine.dispose()


def test_sql_nonces_are_claimed_once_and_purged_after_expiry(sql_nonces: SqlNonceStore) -> None:
    assert sql_nonces.claim("sig:a", int(NOW) + 300)
    assert not sql_nonces.claim("sig:a", int(NOW) + 300)
    assert sql_nonces.claim("sig:b", int(NOW) - 1)
    assert sql_nonces.purge() == 1


def test_a_sql_nonce_claimed_in_a_rolled_back_transaction_is_not_spent(sql_nonces: SqlNonceStore) -> None:
    with pytest.raises(RuntimeError), sql_nonces.engine.begin() as conn:
        assert sql_nonces.claim("key:mailer:i-1", int(NOW) + 300, conn)
        raise RuntimeError("applying the instruction failed")
    assert sql_nonces.claim("key:mailer:i-1", int(NOW) + 300)
