"""Deletion settings: its database, the data map, retry pacing, maintenance after erasures, how long providers get
to confirm and where they send their confirmations."""

from __future__ import annotations

from pydantic import Field

from services.common.leases import DEFAULT_LEASE_SECONDS, LeaseSeconds
from services.common.settings import DataMapSettings


class DeletionSettings(DataMapSettings):
    http_port: int = Field(8003, validation_alias="CCPA_DELETION_PORT")
    database_url: str = Field("sqlite:///.local/deletion.db", validation_alias="CCPA_DELETION_DATABASE_URL")
    consumer_group: str = "ccpa-deletion"
    retry_initial_seconds: float = Field(2.0, gt=0, description="First wait before erasing in a failed store again")
    retry_max_seconds: float = Field(300.0, gt=0, description="Longest wait between two attempts")
    poll_seconds: float = Field(1.0, gt=0)
    claim_batch: int = Field(64, ge=1, description="Jobs claimed per loop; those due for erasure are erased together")
    erasure_linger_seconds: float = Field(
        0.0, ge=0, description="How long the first deletion due waits for others to join its erasure batch"
    )
    concurrent_steps: int = Field(32, ge=1, description="Verification, answer and correction steps run at once")
    lease_seconds: LeaseSeconds = DEFAULT_LEASE_SECONDS
    verification_attempts: int = Field(3, ge=1, description="Erase-and-verify rounds before answering unverified")
    provider_grace_seconds: float = Field(
        30.0, ge=0, description="How long the response waits for provider confirmations before listing them pending"
    )
    recheck_corrections_seconds: float = Field(
        300.0, gt=0, description="How often kept corrections are compared with the stores (§7023(k))"
    )
    provider_confirm_days: float = Field(10.0, gt=0, description="A provider unconfirmed after this is overdue")
    provider_callback_url: str | None = Field(
        None,
        max_length=1000,
        description="Where providers POST their signed confirmations: this service's "
        "/privacy/v1/provider-confirmations as they reach it; sent in every instruction. Unset: polling only",
    )
    provider_poll_first_seconds: float = Field(
        1.0, gt=0, description="First status poll of a delivered, unconfirmed instruction; doubling to 1 h"
    )
    erasure_vacuum: bool = Field(
        False,
        description="After each erasure batch, VACUUM (PostgreSQL) or OPTIMIZE TABLE (MariaDB/MySQL) the tables it "
        "changed, so old row versions leave the table files sooner; see docs/deletion.md, 'Bytes on disk'",
    )
    erasure_vacuum_timeout_seconds: float = Field(600.0, gt=0, description="Longest a VACUUM or OPTIMIZE may take")
