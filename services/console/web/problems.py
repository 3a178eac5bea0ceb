"""A call to another service that ended badly, told to a person: which service, what happened, that nothing was
changed by a page that only reads; never a traceback."""

from __future__ import annotations

from services.console.clients.base import ServiceRefused, ServiceUnavailable

NAMES = {"intake": "Intake", "audit": "Audit", "deletion": "Deletion", "optout": "Opt-out"}


def told(problem: ServiceUnavailable | ServiceRefused) -> str:
    name = NAMES.get(problem.service, problem.service)
    if isinstance(problem, ServiceUnavailable):
        return (f"The {name} service cannot be reached just now ({problem.why}). Nothing was changed. Try "
                "again in a minute; if it lasts, tell the engineers on call.")  # fmt: skip
    return f"The {name} service refused to answer ({problem.status_code}): {problem.detail}."


def status_of(problem: ServiceUnavailable | ServiceRefused) -> int:
    """503 while a service is down, 502 when it refused what the console asked (the console's own mistake)."""
    return 503 if isinstance(problem, ServiceUnavailable) else 502
