"""Audit settings: its own database, HTTP address, consumer group, the key signing its chain checkpoints, how long
it keeps the §7101 record, and the deadline watch's lead, period and (tests only) clock skew."""

from __future__ import annotations

import base64
import binascii
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import Field, SecretStr, field_validator

from services.audit.checkpoints import key_ring, public_key_bytes
from services.audit.metrics7102 import SignalOptOuts
from services.common.settings import ApiSettings, decode_key

# §7101: at least 24 months; 730 days are 24 months but for a leap day, so the default keeps one more.
MINIMUM_RETENTION_DAYS = 730


class AuditSettings(ApiSettings):
    http_port: int = Field(8001, validation_alias="CCPA_AUDIT_PORT")
    database_url: str = Field("sqlite:///.local/audit.db", validation_alias="CCPA_AUDIT_DATABASE_URL")
    consumer_group: str = "ccpa-audit"
    audit_signing_key: SecretStr = Field(
        validation_alias="CCPA_AUDIT_SIGNING_KEY", description="base64 32-byte Ed25519 seed signing chain checkpoints"
    )
    retired_verify_keys: str = Field(
        "", validation_alias="CCPA_AUDIT_RETIRED_VERIFY_KEYS",
        description="Public keys of retired signing keys (base64 raw Ed25519, a JSON list or comma-separated): "
        "checkpoints they signed still verify",
    )  # fmt: skip
    checkpoint_seconds: float = Field(
        60.0, gt=0, validation_alias="CCPA_AUDIT_CHECKPOINT_SECONDS", description="Seconds between chain checkpoints"
    )
    metrics_signal_opt_outs: SignalOptOuts = Field(
        SignalOptOuts.SEPARATE,
        validation_alias="CCPA_METRICS_SIGNAL_OPT_OUTS",
        description="How §7102 counts opt-outs by signal alone (GPC, no request): separate, include, exclude",
    )

    snapshot_seconds: float = Field(
        60.0,
        gt=0,
        validation_alias="CCPA_AUDIT_SNAPSHOT_SECONDS",
        description="Seconds between rounds publishing what changed to the compacted snapshot topic",
    )
    retention_days: int = Field(
        731,
        validation_alias="CCPA_AUDIT_RETENTION_DAYS",
        description="Days a closed request's record and timeline are kept after its last entry (§7101: 24 months)",
    )

    @field_validator("retention_days")
    @classmethod
    def _retention_covers_24_months(cls, value: int) -> int:
        if value < MINIMUM_RETENTION_DAYS:
            raise ValueError(f"CCPA_AUDIT_RETENTION_DAYS must be at least {MINIMUM_RETENTION_DAYS} days: §7101 "
                             "requires the records for at least 24 months")  # fmt: skip
        return value

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

    @field_validator("retired_verify_keys")
    @classmethod
    def _retired_keys_are_public_keys(cls, value: str) -> str:
        retired_public_keys(value)
        return value

    def signing_key(self) -> Ed25519PrivateKey:
        seed = decode_key(self.audit_signing_key.get_secret_value(), "CCPA_AUDIT_SIGNING_KEY")
        return Ed25519PrivateKey.from_private_bytes(seed)

    def verify_keys(self) -> dict[str, bytes]:
        """Key id -> public key of every key whose checkpoints verify: the signing key's and the retired ones."""
        current = public_key_bytes(self.signing_key().public_key())
        return key_ring([*retired_public_keys(self.retired_verify_keys), current])

    def development_defaults(self) -> list[str]:
        skewed = ["CCPA_AUDIT_WATCH_CLOCK_SKEW_DAYS is set: a skewed deadline clock is for tests only"]
        return [*super().development_defaults(), *(skewed if self.watch_clock_skew_days else [])]

    def secrets(self) -> dict[str, str]:
        return {**super().secrets(), "CCPA_AUDIT_SIGNING_KEY": self.audit_signing_key.get_secret_value()}


def retired_public_keys(value: str) -> list[bytes]:
    """The raw 32-byte public keys of CCPA_AUDIT_RETIRED_VERIFY_KEYS (a JSON list or comma-separated base64)."""
    text = value.strip()
    listed = json.loads(text) if text.startswith("[") else [item for item in text.split(",") if item.strip()]
    keys = []
    for number, item in enumerate(listed, 1):
        try:
            raw = base64.b64decode(str(item).strip(), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ValueError(f"CCPA_AUDIT_RETIRED_VERIFY_KEYS: key {number} is not base64 of a 32-byte Ed25519 "
                             "public key")  # fmt: skip
        keys.append(raw)
    return keys
