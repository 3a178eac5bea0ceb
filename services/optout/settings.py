"""Opt-out service settings: its database, consumer group, downstream systems, and the data map that names the
systems of record whose flags it keeps."""

from __future__ import annotations

from pydantic import Field, field_validator

from services.common.settings import ApiSettings

SYSTEMS_OF_RECORD_MOVED = (
    "CCPA_SYSTEMS_OF_RECORD is no longer read: the systems of record moved into the data map (CCPA_DATAMAP). "
    "For each table it listed, give the table's collection `opt_out_flags: {sale_opt_out: <column>, "
    "share_opt_out: <column>, limit_sensitive: <column>}`, list those columns among its fields, and mark the "
    "columns it was matched by (`match`) with `identifies: <kind>`; then unset CCPA_SYSTEMS_OF_RECORD "
    "(docs/datamap.md, 'Systems of record')"
)


class OptoutSettings(ApiSettings):
    http_port: int = Field(8004, validation_alias="CCPA_OPTOUT_PORT")
    database_url: str = Field("sqlite:///.local/optout.db", validation_alias="CCPA_OPTOUT_DATABASE_URL")
    consumer_group: str = "ccpa-optout"
    datamap_path: str = Field(
        "devtools/demo/datamap.yaml", validation_alias="CCPA_DATAMAP",
        description="The data map; its collections with `opt_out_flags` are the systems of record",
    )  # fmt: skip
    downstream_systems: list[str] = Field(
        default_factory=lambda: ["adtech-sync"],
        description="Registered downstream systems that must acknowledge every state version (JSON list)",
    )
    retired_systems_of_record: str | None = Field(
        None, validation_alias="CCPA_SYSTEMS_OF_RECORD", exclude=True, repr=False,
        description="Retired: set means a deployment not yet moved to the data map's systems of record",
    )  # fmt: skip
    overdue_check_seconds: float = 60.0
    ack_sla_seconds: float | None = Field(
        None, description="Internal target for downstream acknowledgements, if shorter than the legal 15 business days"
    )

    @field_validator("retired_systems_of_record")
    @classmethod
    def _systems_of_record_moved(cls, value: str | None) -> None:
        if value is not None:
            raise ValueError(SYSTEMS_OF_RECORD_MOVED)
