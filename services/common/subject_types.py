"""Whose personal information a request or a collection is about (§1798.140(i): a consumer is any California
resident, which since 2023 includes a business's employees, job applicants and business-to-business contacts)."""

from __future__ import annotations

from enum import StrEnum


class SubjectType(StrEnum):
    CONSUMER = "consumer"
    EMPLOYEE = "employee"
    JOB_APPLICANT = "job_applicant"
    B2B_CONTACT = "b2b_contact"


SUBJECT_TYPES = frozenset(kind.value for kind in SubjectType)
# What a person reading a page or a report is told each type is.
SUBJECT_TYPE_LABELS: dict[SubjectType, str] = {
    SubjectType.CONSUMER: "customer or visitor",
    SubjectType.EMPLOYEE: "employee or former employee",
    SubjectType.JOB_APPLICANT: "job applicant",
    SubjectType.B2B_CONTACT: "business contact (a person at a customer, supplier or partner)",
}
