"""Typed settings shared by every service, read from the environment and validated at start-up."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.auth import MIN_TOKEN_CHARS, OPERATOR_SCOPES, Credential, Credentials, token_digest
from services.common.db import PoolSize

MIN_SECRET_BYTES = 32
KAFKA_LOGGER = logging.getLogger("librdkafka")


def decode_key(value: str, name: str) -> bytes:
    try:
        key = base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise ValueError(f"{name} must be base64; it is not") from exc
    if len(key) != MIN_SECRET_BYTES:
        raise ValueError(f"{name} must decode to exactly 32 bytes (AES-256 / HMAC key), got {len(key)}")
    return key


class CommonSettings(BaseSettings):
    """What every service needs: Kafka, its own database, secrets, HTTP address, logging."""

    model_config = SettingsConfigDict(env_prefix="CCPA_", extra="ignore", populate_by_name=True)

    environment: str = Field("development", description="development | test | production")
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "CCPA_KAFKA_BOOTSTRAP_SERVERS"),
    )
    kafka_extra_config: dict[str, Any] = Field(default_factory=dict, description="librdkafka overrides (JSON)")
    topic_namespace: str = Field("", description="Prefix for every topic name (tests, multi-tenant clusters)")
    topic_replication_factor: int = Field(1, ge=1)
    topic_partitions: int = Field(6, ge=1)
    database_url: str = "sqlite:///.local/service.db"
    database_pool_size: int = Field(
        10, ge=1, validation_alias="CCPA_DATABASE_POOL_SIZE", description="Connections to its own database kept open"
    )
    database_max_overflow: int = Field(
        10, ge=0, validation_alias="CCPA_DATABASE_MAX_OVERFLOW", description="More opened when those are all in use"
    )
    database_pool_timeout: float = Field(
        30.0, gt=0, validation_alias="CCPA_DATABASE_POOL_TIMEOUT", description="Seconds to wait for a free connection"
    )
    subject_key_secret: SecretStr = Field(description="base64 32-byte HMAC key for subject keys")
    master_keys: SecretStr = Field(description='JSON {"kek-id": "base64 32-byte key", ...}: key-encryption keys')
    active_master_key: str = Field(description="Which master key wraps new data keys")
    keystore_url: str = "sqlite:///.local/keystore.db"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    max_body_bytes: int = Field(
        64 * 1024, ge=1024, le=16 * 1024 * 1024, description="Largest HTTP request body accepted (413 above it)"
    )
    log_level: str = "INFO"
    log_file: str | None = None

    @field_validator("subject_key_secret")
    @classmethod
    def _subject_key_is_32_bytes(cls, value: SecretStr) -> SecretStr:
        decode_key(value.get_secret_value(), "CCPA_SUBJECT_KEY_SECRET")
        return value

    @model_validator(mode="after")
    def _master_keys_are_usable(self) -> CommonSettings:
        keys = self.master_key_bytes()
        if self.active_master_key not in keys:
            raise ValueError(f"CCPA_ACTIVE_MASTER_KEY {self.active_master_key!r} is not in CCPA_MASTER_KEYS")
        return self

    def master_key_bytes(self) -> dict[str, bytes]:
        try:
            raw = json.loads(self.master_keys.get_secret_value())
        except json.JSONDecodeError as exc:
            raise ValueError("CCPA_MASTER_KEYS must be a JSON object of key id to base64 key") from exc
        if not isinstance(raw, dict) or not raw:
            raise ValueError("CCPA_MASTER_KEYS must be a non-empty JSON object of key id to base64 key")
        return {kid: decode_key(str(value), f"CCPA_MASTER_KEYS[{kid}]") for kid, value in raw.items()}

    def database_pool(self) -> PoolSize:
        return PoolSize(self.database_pool_size, self.database_max_overflow, self.database_pool_timeout)

    def subject_key_bytes(self) -> bytes:
        return decode_key(self.subject_key_secret.get_secret_value(), "CCPA_SUBJECT_KEY_SECRET")

    def kafka_config(self) -> dict[str, Any]:
        # librdkafka's own messages go through Python logging: JSON lines, PI filter, like everything else.
        return {"bootstrap.servers": self.kafka_bootstrap_servers, "logger": KAFKA_LOGGER, **self.kafka_extra_config}


class ApiSettings(CommonSettings):
    """Services with an authenticated HTTP API: the callers it accepts, each with its own token and scopes."""

    api_credentials: dict[str, Any] = Field(
        default_factory=dict,
        description='JSON {"caller": {"sha256": "<hex of its token>", "scopes": [...]}}: who may call what',
    )
    api_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("CCPA_API_TOKEN", "api_token"),
        description="The privacy team's (operator's) token in clear, when not given as a hash in the credentials",
    )

    @field_validator("api_token")
    @classmethod
    def _token_is_strong(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_TOKEN_CHARS:
            raise ValueError(f"CCPA_API_TOKEN must be at least {MIN_TOKEN_CHARS} characters")
        return value

    @model_validator(mode="after")
    def _someone_may_call(self) -> ApiSettings:
        if not self.credentials().credentials:
            raise ValueError("no caller may use this API: set CCPA_API_CREDENTIALS (or CCPA_API_TOKEN for operators)")
        return self

    def credentials(self) -> Credentials:
        credentials = Credentials.parse(self.api_credentials)
        if self.api_token is None or any(c.caller == "operator" for c in credentials.credentials):
            return credentials
        operator = Credential("operator", token_digest(self.api_token.get_secret_value()), OPERATOR_SCOPES)
        return Credentials([*credentials.credentials, operator])
