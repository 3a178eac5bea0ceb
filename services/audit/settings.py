"""Audit settings: its own database, HTTP address, consumer group, and the key signing its chain checkpoints."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import Field, SecretStr, field_validator

from services.audit.metrics7102 import SignalOptOuts
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
    metrics_signal_opt_outs: SignalOptOuts = Field(
        SignalOptOuts.SEPARATE,
        validation_alias="CCPA_METRICS_SIGNAL_OPT_OUTS",
        description="How §7102 counts opt-outs by signal alone (GPC, no request): separate, include, exclude",
    )

    @field_validator("audit_signing_key")
    @classmethod
    def _signing_key_is_32_bytes(cls, value: SecretStr) -> SecretStr:
        decode_key(value.get_secret_value(), "CCPA_AUDIT_SIGNING_KEY")
        return value

    def signing_key(self) -> Ed25519PrivateKey:
        seed = decode_key(self.audit_signing_key.get_secret_value(), "CCPA_AUDIT_SIGNING_KEY")
        return Ed25519PrivateKey.from_private_bytes(seed)

    def secrets(self) -> dict[str, str]:
        return {**super().secrets(), "CCPA_AUDIT_SIGNING_KEY": self.audit_signing_key.get_secret_value()}
