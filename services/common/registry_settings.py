"""The Schema Registry settings checked and turned into confluent-kafka's SchemaRegistryClient configuration."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def check_registry_url(value: str | None) -> str | None:
    """Each comma-separated URL is http(s) with a host and no user:password in it (that goes in BASIC_AUTH)."""
    if value is None or not value.strip():
        return None
    for url in (part.strip() for part in value.split(",")):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("each URL must be http:// or https:// with a host, e.g. http://registry:8081")
        if parts.username or parts.password:
            # A URL is logged and shown in errors; a secret is not: credentials go in their own SecretStr.
            raise ValueError("put the credentials in CCPA_SCHEMA_REGISTRY_BASIC_AUTH, not in the URL")
    return value.strip()


def registry_client_config(
    url: str | None,
    basic_auth: str | None = None,
    ca_location: str | None = None,
    certificate_location: str | None = None,
    key_location: str | None = None,
) -> dict[str, Any] | None:
    """The client's `url`, `basic.auth.user.info` and `ssl.*` keys, only those that are set; None without a URL."""
    if url is None:
        return None
    if basic_auth is not None and ":" not in basic_auth:
        raise ValueError("CCPA_SCHEMA_REGISTRY_BASIC_AUTH must be user:password")
    if key_location is not None and certificate_location is None:
        raise ValueError("CCPA_SCHEMA_REGISTRY_KEY_LOCATION needs CCPA_SCHEMA_REGISTRY_CERTIFICATE_LOCATION")
    optional = {
        "basic.auth.user.info": basic_auth,
        "ssl.ca.location": ca_location,
        "ssl.certificate.location": certificate_location,
        "ssl.key.location": key_location,
    }
    return {"url": url, **{key: value for key, value in optional.items() if value is not None}}
