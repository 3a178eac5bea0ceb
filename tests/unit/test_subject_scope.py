"""Subject types in the walk: a request covers only the collections whose `subject_types` include its type (a job
applicant's search and erasure never touch the customer tables), and it is verified against its own type's records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.common.datamap import DataMap, Store, parse_datamap
from services.common.datamap.subjects import for_subject_type, left_out, recipients_of, searched_records_label
from services.common.identity import IdentifierKind
from services.common.request_types import RequestType
from services.common.stores.base import FoundRecord, Identifiers
from services.common.stores.scope import scoped_connectors
from services.common.stores.walk import walk
from services.common.subject_types import SubjectType
from services.deletion.erasure import plan_erasure
from services.discovery.report.build import build_report
from services.discovery.report.model import ReportRequest
from services.intake.api_models import SubmitRequest
from services.intake.handlers import fingerprinted
from services.intake.verification import IdentityRecord, IdentitySource, StaticIdentitySource, Verifier

MAP = """
business: Acme Outdoor Co.
stores:
  - name: app
    kind: sql
    url: sqlite://
    collections:
      - name: customers
        fields:
          - {name: email, identifies: email, category: A}
      - name: job_applications
        subject_types: [job_applicant]
        fields:
          - {name: email, identifies: email, category: A}
          - {name: resume, category: I}
  - name: marketing
    kind: sql
    url: sqlite://
    collections:
      - name: subscribers
        fields:
          - {name: email, identifies: email, category: A}
"""
EMAIL = "sam@example.com"


@dataclass
class EveryCollection:
    """A store holding one record of the subject in each collection it is shown; it notes what it was asked."""

    store: Store
    asked: list[str] = field(default_factory=list)

    def search(self, identifiers: Identifiers) -> list[FoundRecord]:
        self.asked += [collection.name for collection in self.store.collections]
        return [FoundRecord(self.store.name, c.name, f"{c.name}:1", {"email": EMAIL}) for c in self.store.collections]

    def close(self) -> None:
        return None


def datamap() -> DataMap:
    return parse_datamap(MAP)


def test_a_consumer_request_covers_the_whole_consumer_map_and_nothing_else() -> None:
    walked = for_subject_type(datamap(), "consumer")
    assert [(s.name, [c.name for c in s.collections]) for s in walked.stores] == [
        ("app", ["customers"]), ("marketing", ["subscribers"])
    ]  # fmt: skip
    assert left_out(datamap(), "consumer") == ["app.job_applications"]


def test_an_applicant_request_covers_the_applicant_collections_and_drops_stores_without_any() -> None:
    walked = for_subject_type(datamap(), "job_applicant")
    assert [(s.name, [c.name for c in s.collections]) for s in walked.stores] == [("app", ["job_applications"])]
    assert left_out(datamap(), "job_applicant") == ["app.customers", "marketing.subscribers"]


def test_a_type_no_collection_holds_covers_nothing() -> None:
    assert for_subject_type(datamap(), "employee").stores == ()


def test_a_map_of_consumers_only_is_returned_as_it_is() -> None:
    consumers_only = parse_datamap(MAP.replace("        subject_types: [job_applicant]\n", ""))
    assert for_subject_type(consumers_only, "consumer") is consumers_only


def test_the_walk_of_an_applicant_never_asks_a_customer_collection() -> None:
    full = datamap()
    connectors = {store.name: EveryCollection(store) for store in full.stores}
    walked = for_subject_type(full, "job_applicant")
    result = walk(walked, scoped_connectors(connectors, walked), {"email": frozenset([EMAIL])})
    found = [(record.store, record.collection) for records in result.records.values() for record in records]
    assert found == [("app", "job_applications")]
    assert connectors["app"].asked == ["job_applications"] and connectors["marketing"].asked == []
    assert connectors["app"].store is full.stores[0]  # the connector bootstrap opened is left as it was


def test_the_erasure_plan_of_an_applicant_erases_only_applicant_records() -> None:
    plan = plan_erasure(for_subject_type(datamap(), "job_applicant"), {"email": frozenset([EMAIL])})
    assert [(p.store.name, [step.collection.name for step in p.steps]) for p in plan.stores] == [
        ("app", ["job_applications"])
    ]


def test_the_report_says_which_kind_of_records_were_searched() -> None:
    walked = for_subject_type(datamap(), "job_applicant")
    now = datetime.now(UTC)
    request = ReportRequest("r-1", "know_categories", now, now, subject_type="job_applicant")
    record = FoundRecord("app", "job_applications", "job_applications:1", {"email": EMAIL, "resume": "text"})
    report = build_report(walked, [record], request, {"app": ("found", 1)})
    assert "records we hold about you as a job applicant" in report.summary
    assert [store.store for store in report.searched] == ["app"]
    consumer = ReportRequest("r-2", "know_categories", now, now)
    assert "as a" not in build_report(datamap(), [], consumer, {"app": ("none", 0), "marketing": ("none", 0)}).summary
    assert searched_records_label("employee") == "records we hold about you as an employee or former employee"


CUSTOMER = IdentityRecord({"email": EMAIL, "name": "Sam Lee", "postal_code": "94110"})
APPLICANT = IdentityRecord({"email": EMAIL, "name": "Sam Lee", "postal_code": "94110"})


def verifier(applicants: list[IdentityRecord]) -> Verifier:
    others: Mapping[SubjectType, IdentitySource] = {SubjectType.JOB_APPLICANT: StaticIdentitySource(applicants)}
    return Verifier(StaticIdentitySource([CUSTOMER]), others=others)


def test_an_applicant_is_verified_against_the_applicant_records_not_the_customers() -> None:
    points = {"name": "Sam Lee", "postal_code": "94110"}
    ids = {IdentifierKind.EMAIL: EMAIL}
    assert verifier([APPLICANT]).verify(RequestType.DELETE, ids, points, False, subject_type="job_applicant").outcome \
        == "verified"  # fmt: skip
    # A customer with the same e-mail is no applicant: nothing verifies the applicant's request.
    assert verifier([]).verify(RequestType.DELETE, ids, points, False, subject_type="job_applicant").outcome \
        == "no_match"  # fmt: skip
    assert verifier([]).verify(RequestType.DELETE, ids, points, False).outcome == "verified"


def test_a_type_without_identity_records_is_never_verified_but_its_opt_out_needs_none() -> None:
    ids = {IdentifierKind.EMAIL: EMAIL}
    points = {"name": "Sam Lee", "postal_code": "94110"}
    employee = verifier([APPLICANT]).verify(RequestType.KNOW_SPECIFIC, ids, points, True, subject_type="employee")
    assert employee.outcome == "no_match"
    assert verifier([]).verify(RequestType.OPT_OUT, ids, {}, False, subject_type="employee").outcome == "not_required"


RECIPIENTS = """
business: Acme Outdoor Co.
recipients:
  - {name: mailer, role: service_provider, category: email delivery}
  - {name: ats, role: service_provider, category: applicant tracking}
stores:
  - name: app
    kind: sql
    url: sqlite://
    collections:
      - name: customers
        fields:
          - {name: email, identifies: email, category: A, disclosed_to: [mailer]}
      - name: job_applications
        subject_types: [job_applicant]
        fields:
          - {name: email, identifies: email, category: A, disclosed_to: [ats]}
"""


def test_a_deletion_instructs_the_recipients_of_its_own_subject_type_s_data() -> None:
    recipients = parse_datamap(RECIPIENTS)
    assert recipients_of(recipients, "consumer") == ["mailer", "ats"]  # a consumer's: every recipient, as always
    assert recipients_of(recipients, "job_applicant") == ["ats"]
    assert recipients_of(recipients, "employee") == []


def test_an_idempotency_key_binds_a_customer_s_body_as_it_was_before_subject_types() -> None:
    before = {"type": "delete", "identifiers": {"email": EMAIL}}
    customer = SubmitRequest.model_validate(before)
    assert "subject_type" not in fingerprinted(customer)
    applicant = SubmitRequest.model_validate({**before, "subject_type": "job_applicant"})
    assert fingerprinted(applicant)["subject_type"] == "job_applicant"
