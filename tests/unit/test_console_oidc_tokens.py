"""An ID token signs the person in only when it verifies: the issuer's key, its issuer, this console as audience,
the nonce this browser was given, not expired."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from services.console.accounts.oidc import Client, SignOnFailed, SingleSignOn

ISSUER = "https://issuer.example"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})


class Offline(SingleSignOn):
    """The issuer's discovery document and keys without a network."""

    def _discovery(self) -> dict[str, Any]:
        return {"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/authorize", "token_endpoint": f"{ISSUER}/token",
                "jwks_uri": f"{ISSUER}/jwks"}  # fmt: skip

    def _keys(self) -> KeySet:
        return KeySet([KEY])


SSO = Offline(Client(ISSUER, "ccpa-console", None, "https://console.example/login/oidc/callback"))


def token(key: RSAKey = KEY, **changes: Any) -> str:
    claims = {"iss": ISSUER, "aud": "ccpa-console", "sub": "person-1", "nonce": "n-1", "email": "Pat@Example.test",
              "exp": int(time.time()) + 300, "iat": int(time.time()), **changes}  # fmt: skip
    return jwt.encode({"alg": "RS256", "kid": "k1"}, {k: v for k, v in claims.items() if v is not None}, key)


def test_a_token_that_verifies_gives_its_claims() -> None:
    assert SSO.verified_claims(token(), "n-1")["sub"] == "person-1"


@pytest.mark.parametrize("changes", [{"iss": "https://other.example"}, {"aud": "another-client"},
                                     {"nonce": "n-2"}, {"nonce": None}, {"exp": int(time.time()) - 3600},
                                     {"sub": None}])  # fmt: skip
def test_a_token_with_a_wrong_claim_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(SignOnFailed):
        SSO.verified_claims(token(**changes), "n-1")


def test_a_token_signed_by_another_key_is_refused() -> None:
    with pytest.raises(SignOnFailed):
        SSO.verified_claims(token(OTHER_KEY), "n-1")


def test_the_authorization_url_carries_state_nonce_and_a_pkce_challenge() -> None:
    url, pending = SSO.begin("/queue")
    assert url.startswith(f"{ISSUER}/authorize?") and f"state={pending.state}" in url
    assert f"nonce={pending.nonce}" in url
    assert "code_challenge_method=S256" in url and pending.code_verifier not in url and pending.next_path == "/queue"
