"""The console's queue and dashboard through HTTP against a running pipeline on PostgreSQL: submitted requests are in
the open queue in due-date order, the `next` links walk it once, counts and the dashboard add up, the timeline
names its subject key, and a bad parameter is a 422 naming it."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from devtools.demo.company import Customer
from devtools.local.pipeline import Pipeline
from tests.support import verified_delete, wait_for_entries

pytestmark = pytest.mark.integration


def walk(client: httpx.Client, url: str, auth: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    link: str | None = url
    while link:
        response = client.get(link, headers=auth)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        link = response.json()["next"]
    return items


def test_submitted_requests_are_in_the_open_queue_and_on_the_dashboard(
    shared_pipeline: Pipeline, demo_customers: list[Customer]
) -> None:
    audit, auth = shared_pipeline.audit.url, shared_pipeline.auth
    bodies = [verified_delete(demo_customers[20]), verified_delete(demo_customers[21]),
              {"type": "opt_out", "identifiers": {"email": demo_customers[22].email}}]  # fmt: skip
    with httpx.Client(timeout=10) as client:
        ids = []
        for body in bodies:
            response = client.post(f"{shared_pipeline.intake.url}/v1/requests", json=body)
            assert response.status_code == 202, response.text
            ids.append(response.json()["request_id"])
        for request_id in ids:
            wait_for_entries(client, audit, request_id, auth, ["RequestSubmitted"])

        items = walk(client, f"{audit}/v1/queue?status=all&page_size=1", auth)
        mine = [item for item in items if item["request_id"] in ids]
        assert len(mine) == 3 and len({item["request_id"] for item in items}) == len(items)
        assert [item["due_at"] for item in items] == sorted(item["due_at"] for item in items)
        assert {item["state"] for item in mine} <= {"on_time", "due_soon"} and not any(i["responded_at"] for i in mine)

        deletes = client.get(f"{audit}/v1/queue?type=delete", headers=auth).json()
        assert set(ids[:2]) <= {item["request_id"] for item in deletes["items"]}
        assert deletes["counts"]["matching"] == deletes["counts"]["open"] >= 2

        board = client.get(f"{audit}/v1/dashboard?weeks=2", headers=auth)
        assert board.status_code == 200, board.text
        this_week = board.json()["throughput"][-1]
        assert this_week["received"] >= 3 and len(board.json()["throughput"]) == 2

        timeline = client.get(f"{audit}/v1/requests/{ids[0]}/timeline", headers=auth).json()
        assert re.fullmatch("[0-9a-f]{64}", timeline["subject_key"])
        assert demo_customers[20].email not in str(timeline)


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=lost", "query.status"), ("type=sell", "query.type"), ("channel=fax", "query.channel"),
     ("page_size=201", "query.page_size"), ("due_within_days=401", "query.due_within_days"),
     ("cursor=garbage", "query.cursor")],
)  # fmt: skip
def test_a_bad_queue_parameter_is_a_422_naming_it(shared_pipeline: Pipeline, query: str, field: str) -> None:
    with httpx.Client(timeout=10) as client:
        response = client.get(f"{shared_pipeline.audit.url}/v1/queue?{query}", headers=shared_pipeline.auth)
        assert response.status_code == 422, response.text
        assert [problem["field"] for problem in response.json()["detail"]] == [field]
        bad_weeks = client.get(f"{shared_pipeline.audit.url}/v1/dashboard?weeks=53", headers=shared_pipeline.auth)
        assert bad_weeks.status_code == 422 and bad_weeks.json()["detail"][0]["field"] == "query.weeks"
        assert client.get(f"{shared_pipeline.audit.url}/v1/queue").status_code == 401
