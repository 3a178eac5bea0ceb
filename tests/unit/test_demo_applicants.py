"""The demo company's job applicants: deterministic, nobody's customer account, and described by the data map as
records of job applicants only."""

from __future__ import annotations

from pathlib import Path

from devtools.demo import company
from devtools.demo.applicants import applicant_count, applicants, application_rows
from devtools.demo.generator import DATAMAP_PATH, DemoTarget, demo_env
from services.common.datamap import load_datamap


def test_the_same_seed_gives_the_same_applicants_and_another_seed_others() -> None:
    assert applicants(5, seed=7) == applicants(5, seed=7)
    assert applicants(5, seed=7) != applicants(5, seed=8)
    assert applicants(3) == applicants(5)[:3]


def test_applicants_scale_with_the_company_and_are_never_fewer_than_three() -> None:
    assert applicant_count(40) == 3 and applicant_count(1_000) == 50


def test_no_applicant_email_is_a_customer_email_or_another_applicant_s() -> None:
    emails = [applicant.email for applicant in applicants(200)]
    assert len(set(emails)) == len(emails)
    assert not set(emails) & {customer.email for customer in company.generate(2_000)}


def test_the_data_map_describes_every_application_column_as_an_applicant_record(tmp_path: Path) -> None:
    datamap = load_datamap(DATAMAP_PATH, demo_env(DemoTarget.in_directory(tmp_path, "redis://127.0.0.1:6379/0")))
    store = datamap.store("app-db")
    collection = store.collection("job_applications") if store else None
    assert collection is not None and collection.subject_types == ("job_applicant",)
    written = set(next(application_rows(40, 7)))
    assert {field.name for field in collection.fields} == written
    others = [c for s in datamap.stores for c in s.collections if c.name != "job_applications"]
    assert all("job_applicant" not in c.subject_types for c in others)
