"""`ccpa serve SERVICE --workers N` / CCPA_HTTP_WORKERS: which counts and roles are refused, and how."""

from __future__ import annotations

import pytest

from services.common.roles import Role
from services.common.serve import MAX_WORKERS, serve_workers, workers_of, workers_refusal


@pytest.mark.parametrize("workers", [0, -1, MAX_WORKERS + 1])
def test_a_count_out_of_range_is_refused_naming_the_range(workers: int) -> None:
    assert workers_refusal(workers, Role.ALL) == f"--workers {workers} is not a worker count; expected 1 to 64"


def test_several_workers_in_the_worker_role_are_refused_since_they_share_an_api_port() -> None:
    refusal = workers_refusal(2, Role.WORKER)
    assert refusal is not None and "role worker serves no API" in refusal


@pytest.mark.parametrize(
    ("workers", "role"), [(1, Role.WORKER), (2, Role.ALL), (4, Role.HTTP), (MAX_WORKERS, Role.ALL)]
)
def test_counts_in_range_with_an_api_role_are_accepted(workers: int, role: Role) -> None:
    assert workers_refusal(workers, role) is None


def test_the_flag_wins_over_the_variable_and_one_is_the_default() -> None:
    assert workers_of(3, {"CCPA_HTTP_WORKERS": "5"}) == 3
    assert workers_of(None, {"CCPA_HTTP_WORKERS": " 5 "}) == 5
    assert workers_of(None, {}) == 1


def test_a_variable_that_is_no_number_is_refused_naming_it() -> None:
    with pytest.raises(SystemExit, match="CCPA_HTTP_WORKERS 'two' is not a worker count"):
        workers_of(None, {"CCPA_HTTP_WORKERS": "two"})


def test_serve_workers_refuses_before_binding_anything() -> None:
    with pytest.raises(SystemExit, match="--workers 0 is not a worker count"):
        serve_workers("intake", "all", 0)
    with pytest.raises(SystemExit, match="role worker serves no API"):
        serve_workers("intake", "worker", 2)


def test_several_workers_of_the_all_in_one_process_are_refused_since_each_service_has_its_own_port() -> None:
    refusal = workers_refusal(2, Role.ALL, "all")
    assert refusal is not None and "`all` runs each service once" in refusal
    assert workers_refusal(1, Role.ALL, "all") is None
