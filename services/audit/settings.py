"""Audit settings: its own database, HTTP address, consumer group."""

from __future__ import annotations

from pydantic import Field

from services.common.settings import ApiSettings


class AuditSettings(ApiSettings):
    http_port: int = Field(8001, validation_alias="CCPA_AUDIT_PORT")
    database_url: str = Field("sqlite:///.local/audit.db", validation_alias="CCPA_AUDIT_DATABASE_URL")
    consumer_group: str = "ccpa-audit"
