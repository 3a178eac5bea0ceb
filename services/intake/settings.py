"""Intake settings: HTTP address, rate limit, identity source for verification, GPC support resource."""

from __future__ import annotations

import ipaddress
from datetime import date

import limits
from pydantic import Field, SecretStr, field_validator, model_validator

from services.common.request_types import RequestType
from services.common.settings import BusinessSettings, CallingSettings
from services.intake.mail.smtp import SmtpConfig, SmtpSecurity
from services.intake.review import parse_review_types


class IntakeSettings(CallingSettings, BusinessSettings):
    http_port: int = Field(8000, validation_alias="CCPA_INTAKE_PORT")
    database_url: str = Field("sqlite:///.local/intake.db", validation_alias="CCPA_INTAKE_DATABASE_URL")
    submit_rate_limit: str = Field("30/minute", description="Per-client limit on public submissions (slowapi syntax)")
    choices_rate_limit: str = Field(
        "20/minute", description="Per-client-address limit on the Your Privacy Choices forms' POSTs (limits syntax)"
    )
    identity_source_url: str | None = Field(None, description="SQLAlchemy URL of the identity records for verification")
    identity_source_table: str = "customers"
    identity_source_columns: dict[str, str] = Field(
        default_factory=lambda: {
            "email": "email",
            "phone": "phone",
            "account_id": "account_id",
            "name": "full_name",
            "postal_code": "postal_code",
            "date_of_birth": "date_of_birth",
        },
        description="data point name -> column (JSON)",
    )
    applicant_source_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the applicant-tracking records job applicants are verified against; "
        "unset: a job applicant's know, delete and correct requests cannot be verified",
    )
    applicant_source_table: str = "job_applications"
    applicant_source_columns: dict[str, str] = Field(
        default_factory=lambda: {"email": "email", "name": "full_name", "postal_code": "postal_code"},
        description="data point name -> column of the applicant records (JSON)",
    )
    verification_overrides: dict[str, str] = Field(
        default_factory=dict, description='e.g. {"delete": "reasonably_high"} (JSON)'
    )
    gpc_last_update: date = date(2026, 11, 26)
    datamap_path: str | None = Field(
        None, validation_alias="CCPA_DATAMAP",
        description="The data map the privacy policy page (/privacy/policy) is written from and whose browser-tag "
        "flows the tag gate decides; unset: no policy page, and the decision endpoint has no registry",
    )  # fmt: skip
    privacy_policy_updated: date = Field(
        date(2026, 11, 26), validation_alias="CCPA_PRIVACY_POLICY_UPDATED",
        description="When the privacy policy was last reviewed and updated (§1798.130(a)(5): at least every 12 months)",
    )  # fmt: skip
    optout_url: str = Field("http://127.0.0.1:8004", description="The opt-out service, for consent look-ups")
    discovery_url: str = Field("http://127.0.0.1:8002", description="The discovery service, which holds reports")
    public_base_url: str = Field("http://127.0.0.1:8000", description="Where consumers reach intake: report links")
    consumer_group: str = "ccpa-intake"
    key_sweep_seconds: float = Field(
        300.0, gt=0, description="How often a data-key shred held back (by a report still live) is tried again"
    )
    status_link_days: int = Field(
        120, ge=91, le=400, description="How long a consumer's status link works, from receipt (past the 90-day clock)"
    )
    privacy_upload_max_bytes: int = Field(
        2 * 1024 * 1024, ge=64 * 1024, le=16 * 1024 * 1024, validation_alias="CCPA_PRIVACY_UPLOAD_MAX_BYTES",
        description="Largest form body under /privacy/agent (an agent's signed permission file); 413 above it",
    )  # fmt: skip
    smtp_host: str | None = Field(
        None, validation_alias="CCPA_SMTP_HOST", description="The mail server for consumer e-mails; unset: none is sent"
    )
    smtp_port: int = Field(587, ge=1, le=65535, validation_alias="CCPA_SMTP_PORT")
    smtp_security: SmtpSecurity = Field(
        SmtpSecurity.STARTTLS, validation_alias="CCPA_SMTP_SECURITY", description="starttls | tls | none (loopback)"
    )
    smtp_username: str | None = Field(None, validation_alias="CCPA_SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(None, validation_alias="CCPA_SMTP_PASSWORD")
    smtp_timeout_seconds: float = Field(10.0, gt=0, validation_alias="CCPA_SMTP_TIMEOUT_SECONDS")
    mail_from: str = Field(
        "Example Co. Privacy <privacy@example.com>", min_length=3, validation_alias="CCPA_MAIL_FROM",
        description="The From of consumer e-mails",
    )  # fmt: skip
    notice_retry_initial_seconds: float = Field(
        60.0, gt=0, validation_alias="CCPA_NOTICE_RETRY_INITIAL_SECONDS",
        description="Wait before retrying an e-mail the mail server did not take for now; doubles each retry",
    )  # fmt: skip
    notice_retry_max_seconds: float = Field(
        3600.0, gt=0, validation_alias="CCPA_NOTICE_RETRY_MAX_SECONDS", description="Longest wait between e-mail tries"
    )
    notice_max_attempts: int = Field(
        10, ge=1, le=100, validation_alias="CCPA_NOTICE_MAX_ATTEMPTS",
        description="Tries of one e-mail before it is given up as failed",
    )  # fmt: skip
    service_token: SecretStr = Field(
        description="Intake's own token, presented to discovery (reports) and optout (consent look-ups)"
    )
    verify_code_minutes: int = Field(
        15, ge=1, le=60, validation_alias="CCPA_VERIFY_CODE_MINUTES", description="How long an e-mailed code works"
    )
    verify_code_tries: int = Field(
        5, ge=1, le=10, validation_alias="CCPA_VERIFY_CODE_TRIES", description="Wrong codes before a form is void"
    )
    rate_limit_storage_url: str = Field(
        "memory://", validation_alias="CCPA_RATE_LIMIT_STORAGE_URL",
        description="Where the privacy center's rate limits count (`limits` storage URL: memory://, redis://...)",
    )  # fmt: skip
    privacy_address_rate_limit: str = Field(
        "60/minute;600/day", validation_alias="CCPA_PRIVACY_ADDRESS_RATE_LIMIT",
        description="Per client address, for each of: forms sent, codes sent, codes typed (`limits` syntax)",
    )  # fmt: skip
    privacy_submit_rate_limit: str = Field(
        "10/hour;30/day", validation_alias="CCPA_PRIVACY_SUBMIT_RATE_LIMIT",
        description="Forms sent for one e-mail address (counted by its keyed hash)",
    )  # fmt: skip
    privacy_code_send_limit: str = Field(
        "5/hour;20/day", validation_alias="CCPA_PRIVACY_CODE_SEND_LIMIT",
        description="Codes e-mailed to one address (counted by its keyed hash)",
    )  # fmt: skip
    privacy_code_try_limit: str = Field(
        "20/hour", validation_alias="CCPA_PRIVACY_CODE_TRY_LIMIT",
        description="Codes typed for one e-mail address (counted by its keyed hash)",
    )  # fmt: skip
    captcha_verify_url: str | None = Field(
        None, validation_alias="CCPA_CAPTCHA_VERIFY_URL",
        description="A siteverify-compatible CAPTCHA check on every form POST; unset: off",
    )  # fmt: skip
    captcha_secret: SecretStr | None = Field(None, validation_alias="CCPA_CAPTCHA_SECRET")
    captcha_site_key: str | None = Field(None, validation_alias="CCPA_CAPTCHA_SITE_KEY")
    captcha_script_url: str | None = Field(
        None, validation_alias="CCPA_CAPTCHA_SCRIPT_URL", description="The provider's widget script (allow it in CSP)"
    )
    tag_gate_origins: list[str] = Field(
        default_factory=list, validation_alias="CCPA_TAG_GATE_ORIGINS",
        description="Storefront origins whose pages may ask the tag gate's decision endpoint (CORS; JSON list)",
    )  # fmt: skip
    tag_decision_rate_limit: str = Field(
        "600/minute", validation_alias="CCPA_TAG_DECISION_RATE_LIMIT",
        description="Per-client limit on the tag gate's decision endpoint (slowapi syntax)",
    )  # fmt: skip
    review_before_send: str = Field(
        "", validation_alias="CCPA_REVIEW_BEFORE_SEND",
        description="Request types whose answer a person approves before it is sent (comma-separated); empty: none",
    )  # fmt: skip

    @field_validator("review_before_send")
    @classmethod
    def _review_types_are_known(cls, value: str) -> str:
        parse_review_types(value)  # at start-up, a ValueError naming the unknown type
        return value

    def review_types(self) -> frozenset[RequestType]:
        return parse_review_types(self.review_before_send)

    @field_validator(
        "choices_rate_limit", "privacy_address_rate_limit", "privacy_submit_rate_limit", "privacy_code_send_limit",
        "privacy_code_try_limit",
    )  # fmt: skip
    @classmethod
    def _rate_limits_parse(cls, value: str) -> str:
        limits.parse_many(value)  # at start-up, a ValueError saying which string it could not read
        return value

    @model_validator(mode="after")
    def _plain_smtp_only_on_loopback(self) -> IntakeSettings:
        if self.smtp_host and self.smtp_security is SmtpSecurity.NONE and not _loopback(self.smtp_host):
            raise ValueError("CCPA_SMTP_SECURITY=none sends mail in clear: only allowed to a server on loopback")
        return self

    @model_validator(mode="after")
    def _captcha_is_whole(self) -> IntakeSettings:
        if self.captcha_verify_url and (self.captcha_secret is None or not self.captcha_site_key):
            raise ValueError("CCPA_CAPTCHA_VERIFY_URL needs CCPA_CAPTCHA_SECRET and CCPA_CAPTCHA_SITE_KEY")
        return self

    def smtp(self) -> SmtpConfig | None:
        """How to reach the mail server, or None when consumer e-mail is off."""
        if not self.smtp_host:
            return None
        return SmtpConfig(self.smtp_host, self.smtp_port, self.smtp_security, self.smtp_username, self.smtp_password,
                          self.mail_from, self.smtp_timeout_seconds)  # fmt: skip

    def secrets(self) -> dict[str, str]:
        smtp = {"CCPA_SMTP_PASSWORD": self.smtp_password.get_secret_value()} if self.smtp_password else {}
        captcha = {"CCPA_CAPTCHA_SECRET": self.captcha_secret.get_secret_value()} if self.captcha_secret else {}
        return {**super().secrets(), **smtp, **captcha}


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
