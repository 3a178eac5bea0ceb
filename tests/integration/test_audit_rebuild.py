"""Audit can be rebuilt from the topics alone: drop the database, replay, get the same timeline and chain heads."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa

from devtools.demo.company import Customer
from devtools.local.pipeline import Pipeline
from devtools.localstack import DatabaseServer
from services.audit import queries
from services.common.clocks import BUSINESS_TZ
from tests.support import verified_delete, wait_for_entries

pytestmark = pytest.mark.integration


def test_rebuild_from_topics_gives_the_same_timeline(
    pipeline: Pipeline, postgres_server: DatabaseServer, demo_customers: list[Customer]
) -> None:
    with httpx.Client(timeout=10) as client:
        submit = f"{pipeline.intake.url}/v1/requests"
        delete = client.post(submit, json=verified_delete(demo_customers[5])).json()["request_id"]
        denied = client.post(submit, json={"type": "delete", "identifiers": {"email": "x@example.org"}}).json()[
            "request_id"
        ]
        gpc = client.post(
            submit, json={"type": "opt_out", "identifiers": {"device_id": "d-1"}}, headers={"Sec-GPC": "1"}
        ).json()["request_id"]
        client.post(
            f"{submit}/{delete}/extend",
            json={"reason": "Three systems and an archive to search."},
            headers=pipeline.auth,
        ).raise_for_status()
        for request_id, types in (
            (delete, ["RequestSubmitted", "RequestExtended"]),
            (denied, ["RequestSubmitted", "RequestDenied"]),
            (gpc, ["RequestSubmitted", "ConsentChanged"]),
        ):
            wait_for_entries(client, pipeline.audit.url, request_id, pipeline.auth, types)

    rebuilt_url = postgres_server.create_database("rebuilt_audit_" + pipeline.config.topic_namespace.strip("."))
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "audit", "rebuild", "--database-url", rebuilt_url],
        env=pipeline.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "from 6 events" in result.stdout

    live, rebuilt = sa.create_engine(pipeline.config.audit_db_url), sa.create_engine(rebuilt_url)
    try:
        assert queries.snapshot(rebuilt) == queries.snapshot(live)  # every entry's chain links among them
        assert queries.chain_heads(rebuilt) == queries.chain_heads(live)
        assert len(queries.chain_heads(live)["requests"]) == 3
        assert queries.timeline(rebuilt, delete) == queries.timeline(live, delete)
        assert len(queries.snapshot(live)) == 6 + 3  # six timeline entries, three §7101 records
    finally:
        live.dispose()
        rebuilt.dispose()
    assert_same_exports(pipeline, pipeline.config.audit_db_url, rebuilt_url)
    for url in (rebuilt_url, pipeline.config.audit_db_url):
        verified = subprocess.run([sys.executable, "-m", "services.cli", "audit", "verify", "--database-url", url],
                                  env=pipeline.env, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "audit chain intact: 6 entries" in verified.stdout


def assert_same_exports(pipeline: Pipeline, live_url: str, rebuilt_url: str) -> None:
    """The §7101 records and the §7102 figures a rebuild gives are the live ones, byte for byte."""
    today = datetime.now(UTC).astimezone(BUSINESS_TZ).date().isoformat()
    exports = {"records": ["--from", today, "--to", today, "--format", "json"],
               "metrics": ["--year", today[:4], "--format", "json"]}  # fmt: skip
    outputs = {}
    for name, options in exports.items():
        live, rebuilt = (
            subprocess.run([sys.executable, "-m", "services.cli", "audit", name, *options, "--database-url", url],
                           env=pipeline.env, capture_output=True, timeout=120)
            for url in (live_url, rebuilt_url)
        )  # fmt: skip
        assert live.returncode == rebuilt.returncode == 0, live.stderr + rebuilt.stderr
        assert rebuilt.stdout == live.stdout
        outputs[name] = json.loads(live.stdout)
    assert len(outputs["records"]) == 3 and all(record["verification_level"] for record in outputs["records"])
    assert sum(line["received"] for line in outputs["metrics"]["lines"]) == 3
