"""Single sign-on through OpenID Connect (optional, off by default): the authorization code flow with PKCE, a state
and a nonce, and the ID token verified (signature from the issuer's JWKS, issuer, audience, nonce, expiry) with
Authlib and joserfc (Authlib's JOSE library). It says who the issuer vouches for; which console account that is,
and its role, the console decides (oidc_pages.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")
LEEWAY_SECONDS = 60  # clocks of the issuer and the console may differ this much


class SignOnFailed(Exception):
    """The issuer did not vouch for anyone: its answer was an error, unreachable, or did not verify."""


@dataclass(frozen=True)
class Pending:
    """What the console keeps (in a short-lived signed cookie) between sending the browser to the issuer and its
    return: the state to match, the nonce the ID token must carry, PKCE's verifier, and where to go after."""

    state: str
    nonce: str
    code_verifier: str
    next_path: str


@dataclass(frozen=True)
class Identity:
    """Whom the issuer vouches for: its subject, and the e-mail it states (lower-cased), if any."""

    subject: str
    email: str | None


@dataclass(frozen=True)
class Client:
    issuer: str
    client_id: str
    client_secret: str | None
    redirect_url: str
    timeout: float = 10.0


class SingleSignOn:
    def __init__(self, client: Client) -> None:
        self.client = client
        self._discovered: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def begin(self, next_path: str) -> tuple[str, Pending]:
        """The issuer's authorization URL to send the browser to, and what to keep until it comes back."""
        pending = Pending(generate_token(32), generate_token(32), generate_token(64), next_path)
        url = prepare_grant_uri(
            self._discovery()["authorization_endpoint"], self.client.client_id, "code",
            redirect_uri=self.client.redirect_url, scope="openid email", state=pending.state, nonce=pending.nonce,
            code_challenge=create_s256_code_challenge(pending.code_verifier), code_challenge_method="S256",
        )  # fmt: skip
        return url, pending

    def finish(self, code: str, pending: Pending) -> Identity:
        """Trade the code for tokens and verify the ID token; raises SignOnFailed."""
        answer = self._post(self._discovery()["token_endpoint"], {
            "grant_type": "authorization_code", "code": code, "redirect_uri": self.client.redirect_url,
            "code_verifier": pending.code_verifier, "client_id": self.client.client_id})  # fmt: skip
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            raise SignOnFailed("the issuer's token answer has no ID token")
        claims = self.verified_claims(id_token, pending.nonce)
        email = claims.get("email")
        if claims.get("email_verified") is False or not isinstance(email, str):
            email = None  # an address the issuer has not verified names no one
        return Identity(str(claims["sub"]), email.strip().lower() if email else None)

    def verified_claims(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            token = jwt.decode(id_token, self._keys(), algorithms=ALGORITHMS)
            registry = jwt.JWTClaimsRegistry(
                leeway=LEEWAY_SECONDS, iss={"essential": True, "value": self._discovery()["issuer"]},
                aud={"essential": True, "value": self.client.client_id}, sub={"essential": True},
                exp={"essential": True}, nonce={"essential": True, "value": nonce},
            )  # fmt: skip
            registry.validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise SignOnFailed(f"the ID token does not verify ({type(exc).__name__})") from None
        claims: dict[str, Any] = token.claims
        return claims

    def _keys(self) -> KeySet:
        return KeySet.import_key_set(self._get(self._discovery()["jwks_uri"]))  # type: ignore[arg-type]

    def _discovery(self) -> dict[str, Any]:
        with self._lock:
            if self._discovered is None:
                found = self._get(self.client.issuer.rstrip("/") + "/.well-known/openid-configuration")
                if found.get("issuer") != self.client.issuer.rstrip("/") and found.get("issuer") != self.client.issuer:
                    raise SignOnFailed("the issuer's discovery document names another issuer")
                self._discovered = found
            return self._discovered

    def _get(self, url: str) -> dict[str, Any]:
        return self._answer(lambda http: http.get(url))

    def _post(self, url: str, form: dict[str, str]) -> dict[str, Any]:
        secret = self.client.client_secret
        if secret:  # client_secret_basic; without a secret a public client, PKCE alone
            return self._answer(lambda http: http.post(url, data=form, auth=(self.client.client_id, secret)))
        return self._answer(lambda http: http.post(url, data=form))

    def _answer(self, call: Callable[[httpx.Client], httpx.Response]) -> dict[str, Any]:
        try:
            with httpx.Client(timeout=self.client.timeout) as http:
                response = call(http)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SignOnFailed(f"the issuer did not answer as expected ({type(exc).__name__})") from None
        if not isinstance(body, dict):
            raise SignOnFailed("the issuer's answer is not a JSON object")
        return body
