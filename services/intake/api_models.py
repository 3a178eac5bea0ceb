"""The intake API's request and response bodies (validated by pydantic, documented in OpenAPI)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.common.request_types import RequestType
from services.common.sensitive import SENSITIVE_CATEGORIES
from services.common.subject_types import SubjectType

EARLIEST_KNOW_DATE = date(2022, 1, 1)

# Every field is bounded, so no submission can grow an event past what Kafka accepts (the body limit caps the rest).
MAX_DATA_POINTS = 10
MAX_CORRECTIONS = 50
DataPointName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
DataPointValue = Annotated[str, StringConstraints(max_length=200)]
FieldName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.\-]{0,127}$")]
CorrectedValue = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
# An agent's name or permission reference goes on the §7101 record: one line of printable characters.
AgentText = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
EARLIEST_SIGNING = datetime(2020, 1, 1, tzinfo=UTC)
SIGNING_CLOCK_SKEW = timedelta(minutes=5)


class Channel(StrEnum):
    WEB_FORM = "web_form"
    API = "api"
    EMAIL = "email"
    PHONE = "phone"
    MAIL = "mail"
    IN_PERSON = "in_person"
    AGENT_PORTAL = "agent_portal"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Identifiers(Strict):
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=40)
    account_id: str | None = Field(None, max_length=200)
    device_id: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _at_least_one(self) -> Identifiers:
        if not self.given():
            raise ValueError("give at least one of email, phone, account_id, device_id")
        return self

    def given(self) -> dict[str, str]:
        return {kind: value for kind, value in self.model_dump().items() if value is not None}


class Verification(Strict):
    data_points: dict[DataPointName, DataPointValue] = Field(
        default_factory=dict,
        max_length=MAX_DATA_POINTS,
        description="Extra facts to match against our records: name, postal_code, date_of_birth",
    )
    signed_declaration: bool = Field(False, description="Signed under penalty of perjury (needed for specific pieces)")
    declaration_signed_at: AwareDatetime | None = Field(
        None, description="When the declaration was signed (default: when the request is received); not in the future"
    )

    @model_validator(mode="after")
    def _declaration_time_fits(self) -> Verification:
        if self.declaration_signed_at is not None:
            if not self.signed_declaration:
                raise ValueError("declaration_signed_at: only a signed declaration has a signing time")
            if not EARLIEST_SIGNING <= self.declaration_signed_at <= datetime.now(UTC) + SIGNING_CLOCK_SKEW:
                raise ValueError("declaration_signed_at: must be a past instant, not before 2020")
        return self


class AuthorizedAgent(Strict):
    name: AgentText = Field(min_length=1, description="The agent's own name (kept in the §7101 record)")
    signed_permission: bool = Field(description="The consumer's signed permission for this agent was provided")
    permission_reference: AgentText | None = Field(None, description="Where the signed permission is kept")


class DateRange(Strict):
    start: date = EARLIEST_KNOW_DATE
    end: date | None = None

    @model_validator(mode="after")
    def _ordered_and_in_scope(self) -> DateRange:
        if self.start < EARLIEST_KNOW_DATE:
            raise ValueError("start must be on or after 2022-01-01 (§1798.130(a)(2)(B))")
        if self.end is not None and self.end < self.start:
            raise ValueError("end must not be before start")
        return self


class SubmitRequest(Strict):
    type: RequestType
    identifiers: Identifiers
    channel: Channel = Channel.API
    subject_type: SubjectType = Field(
        SubjectType.CONSUMER,
        description="Whose request: consumer | employee | job_applicant | b2b_contact; it decides which records "
        "are verified against, searched and deleted",
    )
    verification: Verification = Field(default_factory=Verification)
    authorized_agent: AuthorizedAgent | None = None
    date_range: DateRange | None = Field(None, description="Only for know_categories / know_specific")
    corrections: dict[FieldName, CorrectedValue] | None = Field(
        None, max_length=MAX_CORRECTIONS, description="Only for correct: field name -> corrected value"
    )
    limit_categories: list[Annotated[str, StringConstraints(max_length=64)]] = Field(
        default_factory=list,
        max_length=len(SENSITIVE_CATEGORIES),
        description="Only for limit / opt_in: sensitive PI sub-categories (§1798.140(ae)); empty for limit means all",
    )

    @model_validator(mode="after")
    def _fields_fit_the_type(self) -> SubmitRequest:
        if self.type is RequestType.CORRECT and not self.corrections:
            raise ValueError("corrections: a correct request needs at least one field to correct")
        if self.type is not RequestType.CORRECT and self.corrections:
            raise ValueError("corrections: only a correct request carries corrections")
        if self.date_range and self.type not in (RequestType.KNOW_CATEGORIES, RequestType.KNOW_SPECIFIC):
            raise ValueError("date_range: only know requests carry a date range")
        if self.limit_categories and self.type not in (RequestType.LIMIT, RequestType.OPT_IN):
            raise ValueError("limit_categories: only limit and opt_in requests name sensitive PI categories")
        # The unknown names are counted, not quoted: whatever was typed there is not echoed back.
        unknown = set(self.limit_categories) - set(SENSITIVE_CATEGORIES)
        if unknown:
            raise ValueError(f"limit_categories: {len(unknown)} unknown; expected any of {list(SENSITIVE_CATEGORIES)}")
        if len(set(self.limit_categories)) != len(self.limit_categories):
            raise ValueError("limit_categories: a category is named more than once")
        return self


class Accepted(BaseModel):
    request_id: str
    status: str
    acknowledgement: str
    status_url: str | None = Field(
        None, description="The consumer's own link to the request's status page (given once; absent on a replay)"
    )


class ExtendRequest(Strict):
    reason: str = Field(min_length=10, max_length=1000, description="Explanation sent to the consumer; no PI")


class Extension(BaseModel):
    extended: bool
    extended_at: datetime | None
    reason: str | None
    max_respond_by: datetime | None


class Response(BaseModel):
    """How the request was complied with (or why not), as the acting service reported it."""

    outcome: str
    summary: str
    responded_at: datetime
    by: str


class ReportLinks(BaseModel):
    """The access report: expiring download links bound to this request, one per format."""

    ready_at: datetime
    expires_at: datetime
    records: int
    period_start: date
    period_end: date
    sha256: str
    links: dict[str, str]


class ReviewStatus(BaseModel):
    """Review before send (CCPA_REVIEW_BEFORE_SEND): pending until a person approves or denies the answer."""

    state: str  # pending | approved | denied
    answer_ready: bool = Field(description="The answer arrived and is held (pending) or was decided")
    decided_at: datetime | None
    reason: str | None


class RequestStatus(BaseModel):
    request_id: str
    type: str
    requested_type: str
    channel: str
    subject_type: str = "consumer"
    status: str
    received_at: datetime
    acknowledged_at: datetime | None
    due_at: datetime
    extension: Extension
    verification: dict[str, Any]
    denial: dict[str, Any] | None
    response: Response | None = None
    report: ReportLinks | None = None
    review: ReviewStatus | None = Field(None, description="Null for a request not reviewed before send")


class ConsentLookup(Strict):
    identifiers: Identifiers
