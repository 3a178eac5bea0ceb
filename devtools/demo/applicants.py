"""The demo company's job applicants (Tractor Supply's lesson: applicants are consumers too): a few applications in
app-db's `job_applications`, which is also the applicant-tracking records intake verifies an applicant against."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from devtools.demo.company import CA_ZIPS, FIRST, LAST

POSITIONS = ("Store associate", "Warehouse lead", "Customer care specialist", "Merchandising analyst")
STAGES = ("received", "interviewed", "offered", "declined")
APPLIED_FROM = datetime(2024, 1, 15, tzinfo=UTC)
PER_SUBJECTS = 20  # one applicant per 20 customers, at least MIN_APPLICANTS
MIN_APPLICANTS = 3


@dataclass(frozen=True)
class Applicant:
    application_id: str
    email: str
    full_name: str
    postal_code: str
    position: str
    applied_at: datetime
    stage: str
    resume_summary: str
    interview_notes: str


def applicant_count(subjects: int) -> int:
    return max(MIN_APPLICANTS, subjects // PER_SUBJECTS)


def applicants(count: int, seed: int = 7) -> list[Applicant]:
    """The same applicants for the same seed and count; their e-mails are no customer's (example.net)."""
    rng = random.Random(f"applicants-{seed}")
    return [_applicant(rng, index) for index in range(count)]


def _applicant(rng: random.Random, index: int) -> Applicant:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    position = rng.choice(POSITIONS)
    years = rng.randrange(1, 15)
    return Applicant(
        application_id=f"appl-{index:06d}",
        email=f"{first}.{last}.{index}@example.net".lower(),
        full_name=f"{first} {last}",
        postal_code=rng.choice(CA_ZIPS),
        position=position,
        applied_at=APPLIED_FROM + timedelta(days=rng.randrange(680), minutes=rng.randrange(1440)),
        stage=rng.choice(STAGES),
        resume_summary=f"{years} years in retail; applying as {position.lower()}.",
        interview_notes=rng.choice(("Strong with customers.", "Prefers weekend shifts.", "Not yet interviewed.")),
    )


def application_rows(subjects: int, seed: int) -> Iterator[dict[str, Any]]:
    for applicant in applicants(applicant_count(subjects), seed):
        yield asdict(applicant)


def write_applications(subjects: int, seed: int, emit: Callable[[str, dict[str, Any]], None]) -> None:
    for row in application_rows(subjects, seed):
        emit("job_applications", row)
