"""Console settings: its port and database, the services it calls and its own token for them, sessions, lock-out,
and optional single sign-on (OpenID Connect)."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from services.common.settings import CallingSettings, SchemaRegistrySettings


class ConsoleSettings(CallingSettings):
    http_port: int = Field(8005, validation_alias="CCPA_CONSOLE_PORT")
    database_url: str = Field("sqlite:///.local/console.db", validation_alias="CCPA_CONSOLE_DATABASE_URL")
    intake_url: str = Field("http://127.0.0.1:8000", validation_alias="CCPA_INTAKE_URL",
                            description="Intake's API: status, extension, review, notices, reports")  # fmt: skip
    audit_url: str = Field("http://127.0.0.1:8001", validation_alias="CCPA_AUDIT_URL",
                           description="Audit's API: queue, timelines, records, §7102, dashboard")  # fmt: skip
    deletion_url: str = Field("http://127.0.0.1:8003", validation_alias="CCPA_DELETION_URL",
                              description="Deletion's API: recipients' instructions, legal holds")  # fmt: skip
    optout_url: str = Field("http://127.0.0.1:8004", validation_alias="CCPA_OPTOUT_URL",
                            description="Optout's API: a subject's current consent state")  # fmt: skip
    service_token: SecretStr = Field(
        description="The console's own token, presented to the other services; never shown to a person"
    )
    call_timeout_seconds: float = Field(10.0, gt=0, le=120, validation_alias="CCPA_CONSOLE_CALL_TIMEOUT_SECONDS")
    session_hours: float = Field(
        8.0, gt=0, le=24, validation_alias="CCPA_CONSOLE_SESSION_HOURS", description="A sign-in lasts at most this"
    )
    idle_minutes: float = Field(
        30.0, gt=0, le=24 * 60, validation_alias="CCPA_CONSOLE_IDLE_MINUTES",
        description="A session unused for this long is over",
    )  # fmt: skip
    lockout_failures: int = Field(
        10, ge=3, le=100, validation_alias="CCPA_CONSOLE_LOCKOUT_FAILURES",
        description="Wrong passwords in a row that lock an account",
    )  # fmt: skip
    lockout_minutes: float = Field(
        15.0, gt=0, le=24 * 60, validation_alias="CCPA_CONSOLE_LOCKOUT_MINUTES", description="How long a lock lasts"
    )
    secure_cookies: bool = Field(
        True, validation_alias="CCPA_CONSOLE_SECURE_COOKIES",
        description="Session and CSRF cookies only over HTTPS (browsers also send them to http://127.0.0.1)",
    )  # fmt: skip
    oidc_issuer: str | None = Field(
        None, validation_alias="CCPA_CONSOLE_OIDC_ISSUER",
        description="Single sign-on: the OpenID Connect issuer (its /.well-known/openid-configuration); unset: off",
    )  # fmt: skip
    oidc_client_id: str | None = Field(None, validation_alias="CCPA_CONSOLE_OIDC_CLIENT_ID")
    oidc_client_secret: SecretStr | None = Field(None, validation_alias="CCPA_CONSOLE_OIDC_CLIENT_SECRET")
    oidc_redirect_url: str | None = Field(
        None, validation_alias="CCPA_CONSOLE_OIDC_REDIRECT_URL",
        description="This console's /login/oidc/callback as the browser reaches it",
    )  # fmt: skip

    @model_validator(mode="after")
    def _single_sign_on_is_complete(self) -> ConsoleSettings:
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_redirect_url):
            raise ValueError("CCPA_CONSOLE_OIDC_ISSUER needs CCPA_CONSOLE_OIDC_CLIENT_ID and "
                             "CCPA_CONSOLE_OIDC_REDIRECT_URL too")  # fmt: skip
        return self

    def secrets(self) -> dict[str, str]:
        oidc = {"CCPA_CONSOLE_OIDC_CLIENT_SECRET": self.oidc_client_secret.get_secret_value()} if (
            self.oidc_client_secret) else {}  # fmt: skip
        return {**super().secrets(), **oidc}


class ConsoleStoreSettings(SchemaRegistrySettings):
    """What `ccpa console users` needs: the console's database and the topic names of the record (its outbox). Not
    ConsoleSettings: an administrator's shell holds no service token and no keys."""

    model_config = SettingsConfigDict(env_prefix="CCPA_", extra="ignore", populate_by_name=True)

    database_url: str = Field("sqlite:///.local/console.db", validation_alias="CCPA_CONSOLE_DATABASE_URL")
    topic_namespace: str = Field("", description="Prefix for every topic name (tests, multi-tenant clusters)")
