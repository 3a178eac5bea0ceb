"""The pure checks of a privacy policy: updated in the last 12 months (§1798.130(a)(5)), and each disclosure §7011(e)
requires found in its words. Each failure is one line naming what is missing and the section that requires it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from dateutil.relativedelta import relativedelta

from services.common.policy.document import PolicyDocument

FRESH_FOR = relativedelta(months=12)


@dataclass(frozen=True)
class Disclosure:
    """One thing the policy must tell people, and the words that show it does (every pattern must match)."""

    code: str
    name: str
    section: str
    patterns: tuple[str, ...]

    def found_in(self, text: str) -> bool:
        return all(re.search(pattern, text, re.IGNORECASE) for pattern in self.patterns)


DISCLOSURES: tuple[Disclosure, ...] = tuple(Disclosure(*row) for row in (
    ("right_to_know", "the right to know", "§7011(e)(1)(A)", (r"right to know",)),
    ("right_to_delete", "the right to delete", "§7011(e)(1)(B)", (r"right to delete",)),
    ("right_to_correct", "the right to correct", "§7011(e)(1)(C)", (r"right to correct",)),
    ("right_to_opt_out", "the right to opt out of sale and sharing", "§7011(e)(1)(D)", (r"right to opt[ -]?out",)),
    ("right_to_limit", "the right to limit the use of sensitive personal information", "§7011(e)(1)(E)",
     (r"right to limit",)),
    ("non_discrimination", "the right not to be discriminated against", "§7011(e)(1)(F)", (r"discriminat|retaliat",)),
    ("how_to_submit", "how to submit a request", "§7011(e)(3)(A)", (r"(submit|make|send) (a |your )?request",)),
    ("verification", "how requests are verified", "§7011(e)(3)(C)", (r"verif",)),
    ("authorized_agent", "how an authorized agent can make a request", "§7011(e)(3)(D)", (r"authori[sz]ed agent",)),
    ("opt_out_preference_signal", "how opt-out preference signals (Global Privacy Control) are processed",
     "§7011(e)(3)(F), §7025", (r"global privacy control|opt-out preference signal",)),
    ("categories_collected", "the categories of personal information collected", "§7011(e)(2)(A)",
     (r"categor(y|ies) of personal information", r"\bcollect")),
    ("categories_sold_shared", "the categories sold or shared, or that none are", "§7011(e)(2)(F)",
     (r"\b(sold|sell|sale)\b", r"\bshar(e|ed|ing)\b")),
    ("retention", "how long each category is kept", "§7011(e)(2)(E), §1798.100(a)(3)",
     (r"retain|retention|how long we keep|we keep",)),
    ("job_applicant_notice", "a notice for job applicants and employees, with their rights", "§1798.140(i), §7011(e)",
     (r"job applicants?", r"employees?")),
    ("contact", "how to contact the business with questions", "§7011(e)(5)", (r"contact",)),
))  # fmt: skip


@dataclass(frozen=True)
class PolicyCheck:
    last_updated: date | None
    failures: tuple[str, ...]
    found: tuple[str, ...] = field(default=())  # the disclosures' names that were found

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        updated = self.last_updated.isoformat() if self.last_updated else "never"
        return (f"privacy policy passes: last updated {updated}, all {len(self.found)} required disclosures "
                "present")  # fmt: skip


def check_policy(document: PolicyDocument, today: date) -> PolicyCheck:
    """Every failure, the date first: a policy must be reviewed and updated at least once every 12 months."""
    failures = [*_date_failures(document.last_updated, today)]
    found = []
    for disclosure in DISCLOSURES:
        if disclosure.found_in(document.text):
            found.append(disclosure.name)
        else:
            failures.append(f"missing disclosure: {disclosure.name} ({disclosure.section})")
    return PolicyCheck(document.last_updated, tuple(failures), tuple(found))


def _date_failures(last_updated: date | None, today: date) -> list[str]:
    if last_updated is None:
        return ["no last-updated date found (a meta tag, a <time> element or a 'Last updated: <date>' line); "
                "§1798.130(a)(5) requires updating the policy at least once every 12 months"]  # fmt: skip
    if last_updated > today:
        return [f"last updated {last_updated.isoformat()} is in the future (today is {today.isoformat()})"]
    if last_updated < today - FRESH_FOR:
        months = relativedelta(today, last_updated)
        age = months.years * 12 + months.months
        return [f"last updated {last_updated.isoformat()}, {age} months ago: §1798.130(a)(5) requires updating the "
                "privacy policy at least once every 12 months"]  # fmt: skip
    return []
