"""Audit settings: its own database, HTTP address, consumer group, the key signing its chain checkpoints, and the
deadline watch's lead, period and (tests only) clock skew."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import Field, SecretStr, field_validator

from services.common.settings import ApiSettings, decode_key


class AuditSettings(ApiSettings):
    http_port: int = Field(8001, validation_alias="CCPA_AUDIT_PORT")
    database_url: str = Field("sqlite:///.local/audit.db", validation_alias="CCPA_AUDIT_DATABASE_URL")
    consumer_group: str = "ccpa-audit"
    audit_signing_key: SecretStr = Field(
        validation_alias="CCPA_AUDIT_SIGNING_KEY", description="base64 32-byte Ed25519 seed signing chain checkpoints"
    )
    checkpoint_seconds: float = Field(
        60.0, gt=0, validation_alias="CCPA_AUDIT_CHECKPOINT_SECONDS", description="Seconds between chain checkpoints"
    )
    deadline_lead_days: int = Field(
        7, ge=0, le=30, validation_alias="CCPA_AUDIT_DEADLINE_LEAD_DAYS",
        description="Days before a deadline the watch announces DeadlineApproaching and counts it due_soon",
    )  # fmt: skip
    watch_seconds: float = Field(
        60.0, gt=0, validation_alias="CCPA_AUDIT_WATCH_SECONDS", description="Seconds between deadline watch ticks"
    )
    watch_clock_skew_days: float = Field(
        0.0, ge=0, le=400, validation_alias="CCPA_AUDIT_WATCH_CLOCK_SKEW_DAYS",
        description="Tests only: the watch's clock runs this many days ahead (refused in production)",
    )  # fmt: skip

    @field_validator("audit_signing_key")
    @classmethod
    def _signing_key_is_32_bytes(cls, value: SecretStr) -> SecretStr:
        decode_key(value.get_secret_value(), "CCPA_AUDIT_SIGNING_KEY")
        return value

    def signing_key(self) -> Ed25519PrivateKey:
        seed = decode_key(self.audit_signing_key.get_secret_value(), "CCPA_AUDIT_SIGNING_KEY")
        return Ed25519PrivateKey.from_private_bytes(seed)

    def development_defaults(self) -> list[str]:
        skewed = ["CCPA_AUDIT_WATCH_CLOCK_SKEW_DAYS is set: a skewed deadline clock is for tests only"]
        return [*super().development_defaults(), *(skewed if self.watch_clock_skew_days else [])]

    def secrets(self) -> dict[str, str]:
        return {**super().secrets(), "CCPA_AUDIT_SIGNING_KEY": self.audit_signing_key.get_secret_value()}
