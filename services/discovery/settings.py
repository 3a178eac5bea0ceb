"""Discovery settings: its database, the data map, retry pacing for unavailable stores, the report's lifetime and
letterhead (the business identity and the privacy center's address)."""

from __future__ import annotations

from pydantic import Field

from services.common.leases import DEFAULT_LEASE_SECONDS, LeaseSeconds
from services.common.settings import BusinessSettings, DataMapSettings


class DiscoverySettings(DataMapSettings, BusinessSettings):
    http_port: int = Field(8002, validation_alias="CCPA_DISCOVERY_PORT")
    database_url: str = Field("sqlite:///.local/discovery.db", validation_alias="CCPA_DISCOVERY_DATABASE_URL")
    consumer_group: str = "ccpa-discovery"
    concurrent_requests: int = Field(16, ge=1, description="Requests walked at once (they share log passes)")
    retry_initial_seconds: float = Field(2.0, gt=0, description="First wait before asking an unavailable store again")
    retry_max_seconds: float = Field(300.0, gt=0, description="Longest wait between two searches of a store")
    poll_seconds: float = Field(1.0, gt=0, description="How often due retries are looked for when nothing wakes us")
    report_ttl_hours: float = Field(24.0 * 14, gt=0, description="How long a report and its download link live")
    lease_seconds: LeaseSeconds = DEFAULT_LEASE_SECONDS
    privacy_center_url: str = Field(
        "http://127.0.0.1:8000/privacy/", validation_alias="CCPA_PRIVACY_CENTER_URL", pattern=r"^https?://\S+$",
        description="The consumer-facing privacy center (intake's public base URL + /privacy/), named in the report",
    )  # fmt: skip
