"""The Schema Registry settings: off unless a URL is given; a URL with credentials in it, a bad scheme, a malformed
user:password or a key without its certificate refuse start-up naming the variable, never echoing a secret; and
bytes the registry codec cannot frame are a poison message without a call to the registry."""

from __future__ import annotations

import json

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from pydantic import ValidationError

from services.common.registry import RegistryCodec, registry_schema
from services.common.serde import DecodeError, SchemaCatalog
from services.common.settings import CommonSettings
from tests.support import settings_environment


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    return settings_environment(monkeypatch)


def test_no_url_no_registry(environment: pytest.MonkeyPatch) -> None:
    assert CommonSettings().schema_registry_config() is None


def test_the_client_gets_url_auth_and_tls(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CCPA_SCHEMA_REGISTRY_URL", "https://registry-a:8081,https://registry-b:8081")
    environment.setenv("CCPA_SCHEMA_REGISTRY_BASIC_AUTH", "ccpa:s3cret-not-shown")
    environment.setenv("CCPA_SCHEMA_REGISTRY_CA_LOCATION", "/etc/registry/ca.pem")
    assert CommonSettings().schema_registry_config() == {
        "url": "https://registry-a:8081,https://registry-b:8081",
        "basic.auth.user.info": "ccpa:s3cret-not-shown",
        "ssl.ca.location": "/etc/registry/ca.pem",
    }
    assert "s3cret" not in repr(CommonSettings())  # a SecretStr


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("CCPA_SCHEMA_REGISTRY_URL", "http://ccpa:s3cret-not-shown@registry:8081", "CCPA_SCHEMA_REGISTRY_BASIC_AUTH"),
    ("CCPA_SCHEMA_REGISTRY_URL", "registry:8081", "http:// or https://"),
    ("CCPA_SCHEMA_REGISTRY_BASIC_AUTH", "s3cret-not-shown", "must be user:password"),
    ("CCPA_SCHEMA_REGISTRY_KEY_LOCATION", "/etc/client.key", "needs CCPA_SCHEMA_REGISTRY_CERTIFICATE_LOCATION"),
])  # fmt: skip
def test_bad_registry_settings_refuse_start_up(
    environment: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    environment.setenv("CCPA_SCHEMA_REGISTRY_URL", "https://registry:8081")
    environment.setenv(variable, value)
    with pytest.raises(ValidationError, match=message) as refused:
        CommonSettings()
    assert "s3cret" not in str(refused.value)


def test_the_registered_schema_is_the_avsc_with_nested_records_inlined() -> None:
    contract = SchemaCatalog().for_event_type("ConsentChanged")
    schema = json.loads(registry_schema(contract))
    assert schema["name"] == "privacy.events.ConsentChanged"
    assert "__fastavro_parsed" not in registry_schema(contract)
    assert "privacy.events.EncryptedValue" in registry_schema(contract)  # defined inline, no reference to resolve
    defaults = [field for field in schema["fields"] if "default" in field]
    assert defaults, "the defaults the registry's compatibility check needs are kept"


@pytest.mark.parametrize("data", [b"", b"\x00\x00\x00\x00\x01", b"\x07garbage", None])
def test_bytes_the_codec_cannot_frame_are_poison_without_asking_the_registry(data: bytes | None) -> None:
    # The URL names nothing that listens: a call to the registry would fail differently (SchemaRegistryUnavailable).
    codec = RegistryCodec(SchemaRegistryClient({"url": "http://127.0.0.1:9"}), "http://127.0.0.1:9")
    with pytest.raises(DecodeError):
        codec.decode(data)
