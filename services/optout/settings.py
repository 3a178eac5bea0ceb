"""Opt-out service settings: its database, consumer group, downstream systems and systems of record."""

from __future__ import annotations

from pydantic import BaseModel, Field

from services.common.settings import ApiSettings


class SystemOfRecord(BaseModel):
    """A SQL table holding consumers, whose do-not-sell/share/limit flag columns this service keeps current."""

    name: str
    url: str
    table: str
    match: dict[str, str] = Field(description="identifier kind -> column (email, phone, account_id, device_id)")
    flags: dict[str, str] = Field(description="sale_opt_out / share_opt_out / limit_sensitive -> column")


class OptoutSettings(ApiSettings):
    http_port: int = Field(8004, validation_alias="CCPA_OPTOUT_PORT")
    database_url: str = Field("sqlite:///.local/optout.db", validation_alias="CCPA_OPTOUT_DATABASE_URL")
    consumer_group: str = "ccpa-optout"
    downstream_systems: list[str] = Field(
        default_factory=lambda: ["adtech-sync"],
        description="Registered downstream systems that must acknowledge every state version (JSON list)",
    )
    systems_of_record: list[SystemOfRecord] = Field(default_factory=list, description="JSON list")
    overdue_check_seconds: float = 60.0
    ack_sla_seconds: float | None = Field(
        None, description="Internal target for downstream acknowledgements, if shorter than the legal 15 business days"
    )
