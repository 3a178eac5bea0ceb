"""Typed settings shared by every service, read from the environment and validated at start-up."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from typing import Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.auth import MIN_TOKEN_CHARS, OPERATOR_SCOPES, Credential, Credentials, token_digest
from services.common.db import PoolSize
from services.common.environments import (
    DEMO_DATAMAP,
    Environment,
    demo_datamap,
    generated_secrets,
    local_secrets_file,
    marked_keys,
    refusal,
    sqlite_urls,
)
from services.common.kafka import pinned_overrides
from services.common.registry_settings import check_registry_url, registry_client_config

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


def refused_settings(service: str, settings: type[CommonSettings], error: ValidationError) -> str:
    """A start-up refusal for people: each setting by its variable and what is wrong, never the value given."""
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        where = str(problem["loc"][0]) if problem["loc"] else ""
        name = settings.variable(where) if where in settings.model_fields else where
        message = str(problem["msg"]).removeprefix("Value error, ")
        lines.append(f"  - {name}: {message}" if name else f"  - {message}")
    return f"{service} cannot start; its settings are refused:\n" + "\n".join(lines)


class SchemaRegistrySettings(BaseSettings):
    """Where the events' schemas are registered: unset, events stay in Avro single-object encoding; set, the Confluent
    wire format (services/common/registry.py). Every process that writes events reads these."""

    model_config = SettingsConfigDict(env_prefix="CCPA_", extra="ignore", hide_input_in_errors=True)
    schema_registry_url: str | None = Field(None, description="Schema Registry base URL(s), comma-separated")
    schema_registry_basic_auth: SecretStr | None = Field(None, description="user:password for the registry")
    schema_registry_ca_location: str | None = Field(None, description="CA file that signed the registry's certificate")
    schema_registry_certificate_location: str | None = Field(None, description="Client certificate (PEM) for mTLS")
    schema_registry_key_location: str | None = Field(None, description="Its private key (PEM)")

    @field_validator("schema_registry_url")
    @classmethod
    def _registry_url_is_plain(cls, value: str | None) -> str | None:
        return check_registry_url(value)

    @model_validator(mode="after")
    def _registry_settings_fit(self) -> SchemaRegistrySettings:
        self.schema_registry_config()
        return self

    def schema_registry_config(self) -> dict[str, Any] | None:
        """The confluent-kafka SchemaRegistryClient configuration, or None when no registry is set."""
        auth = self.schema_registry_basic_auth.get_secret_value() if self.schema_registry_basic_auth else None
        tls = (self.schema_registry_ca_location, self.schema_registry_certificate_location,
               self.schema_registry_key_location)  # fmt: skip
        return registry_client_config(self.schema_registry_url, auth, *tls)


class CommonSettings(SchemaRegistrySettings):
    """What every service needs: Kafka, its own database, secrets, HTTP address, logging."""

    # hide_input_in_errors: a refusal never repeats a value it was given (a secret, a path, a URL with a password).
    model_config = SettingsConfigDict(
        env_prefix="CCPA_", extra="ignore", populate_by_name=True, hide_input_in_errors=True
    )

    environment: Environment = Field(
        Environment.DEVELOPMENT, description="development | test | production (refuses the development defaults)"
    )
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

    @field_validator("kafka_extra_config")
    @classmethod
    def _safety_settings_stay(cls, value: dict[str, Any]) -> dict[str, Any]:
        refused = pinned_overrides(value)
        if refused:
            raise ValueError(f"may not override a safety setting: {'; '.join(refused)}")
        return value

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

    @model_validator(mode="after")
    def _production_refuses_development_defaults(self) -> CommonSettings:
        if self.environment is Environment.PRODUCTION and (problems := self.development_defaults()):
            raise ValueError(refusal(problems))
        return self

    def development_defaults(self) -> list[str]:
        """What production refuses in these settings, each naming its variable (never its value)."""
        urls = {self.variable(name): getattr(self, name) for name in type(self).model_fields if name.endswith("_url")}
        secrets = {name: [value] for name, value in self.secrets().items()}
        secrets["CCPA_MASTER_KEYS"] = [base64.b64encode(key).decode() for key in self.master_key_bytes().values()]
        found = generated_secrets(secrets, self.credential_digests(), local_secrets_file())
        return [*sqlite_urls(urls), *found, *marked_keys(self.master_key_bytes())]

    def secrets(self) -> dict[str, str]:
        """Secrets in clear, by variable, for the check against the local stack's generated ones."""
        return {"CCPA_SUBJECT_KEY_SECRET": self.subject_key_secret.get_secret_value()}

    def credential_digests(self) -> dict[str, list[str]]:
        return {}

    @classmethod
    def variable(cls, field_name: str) -> str:
        """The environment variable a field is read from."""
        alias = cls.model_fields[field_name].validation_alias
        choices = [alias] if isinstance(alias, str) else getattr(alias, "choices", [])
        named = [str(choice) for choice in choices if str(choice).startswith("CCPA_")]
        return named[0] if named else f"CCPA_{field_name.upper()}"

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

    def development_defaults(self) -> list[str]:
        clear_token = ["CCPA_API_TOKEN is the operator's token in clear, a development convenience: put its SHA-256 in "
                       "CCPA_API_CREDENTIALS"] if self.api_token is not None else []  # fmt: skip
        return [*super().development_defaults(), *clear_token]

    def secrets(self) -> dict[str, str]:
        token = {"CCPA_API_TOKEN": self.api_token.get_secret_value()} if self.api_token is not None else {}
        return {**super().secrets(), **token}

    def credential_digests(self) -> dict[str, list[str]]:
        callers = Credentials.parse(self.api_credentials).credentials
        return {"CCPA_API_CREDENTIALS": [credential.token_sha256 for credential in callers]}

    def credentials(self) -> Credentials:
        credentials = Credentials.parse(self.api_credentials)
        if self.api_token is None or any(c.caller == "operator" for c in credentials.credentials):
            return credentials
        operator = Credential("operator", token_digest(self.api_token.get_secret_value()), OPERATOR_SCOPES)
        return Credentials([*credentials.credentials, operator])


class CallingSettings(ApiSettings):
    """A service that calls the others with a token of its own (intake, the console): its token in clear."""

    service_token: SecretStr = Field(description="This service's own token, presented to the services it calls")

    @field_validator("service_token")
    @classmethod
    def _service_token_is_strong(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < MIN_TOKEN_CHARS:
            raise ValueError(f"CCPA_SERVICE_TOKEN must be at least {MIN_TOKEN_CHARS} characters")
        return value

    def secrets(self) -> dict[str, str]:
        return {**super().secrets(), "CCPA_SERVICE_TOKEN": self.service_token.get_secret_value()}


class BusinessSettings(CommonSettings):
    """Who the consumer deals with: named on the privacy center, in the e-mails and in the access report."""

    business_name: str = Field("Example Co.", min_length=1, max_length=200, validation_alias="CCPA_BUSINESS_NAME")
    business_contact_email: str = Field(
        "privacy@example.com", min_length=3, max_length=254, validation_alias="CCPA_BUSINESS_CONTACT_EMAIL",
        description="Where consumers write with questions and appeals",
    )  # fmt: skip
    business_contact_phone: str = Field(
        "1-800-555-0100", min_length=3, max_length=40, validation_alias="CCPA_BUSINESS_CONTACT_PHONE",
        description="The toll-free number for requests (Civ. Code §1798.130(a)(1))",
    )  # fmt: skip
    business_postal_address: str = Field(
        "100 Example Street, Sacramento, CA 95814", max_length=300, validation_alias="CCPA_BUSINESS_POSTAL_ADDRESS"
    )


class DataMapSettings(ApiSettings):
    """Services that walk the stores of a data map (discovery, deletion): in production it must be given."""

    datamap_path: str = Field(DEMO_DATAMAP, validation_alias="CCPA_DATAMAP")

    def development_defaults(self) -> list[str]:
        explicit = "datamap_path" in self.model_fields_set
        return [*super().development_defaults(), *demo_datamap(self.datamap_path, explicit)]


class LogIndexSettings(BaseSettings):
    """The JSON-lines log index (services/common/stores/logindexed.py): a folder, keyed by the subject key."""

    model_config = SettingsConfigDict(env_prefix="CCPA_", extra="ignore", hide_input_in_errors=True)

    log_index_dir: str = Field("", description="Folder of the log index (SQLite); empty: every search scans the logs")
    subject_key_secret: SecretStr = Field(SecretStr(""), description="base64 32-byte HMAC key; the index key derives")

    def index_key(self) -> bytes:
        """A key of its own for the index (HMAC of a label under the subject key), never the subject key itself."""
        subject = decode_key(self.subject_key_secret.get_secret_value(), "CCPA_SUBJECT_KEY_SECRET")
        return hmac.new(subject, b"ccpa log index v1", hashlib.sha256).digest()
