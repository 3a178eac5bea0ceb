"""DoorDash (CA AG, 2024-02-21, $375k): the company sent customer names, addresses and transaction histories to a
marketing co-op (an exchange of data for ad reach, which is a sale) with no notice and no opt-out. What technically
failed: no registry classifying each outbound flow as sale, sharing or service provider, and no opt-out gating of the
co-op flow. (../shared/reference/ccpa-requirements.md §7.)

Here: after an opt-out submitted through intake's HTTP API, the demo company's co-op export job (flow coop-export,
a sale) run through the gate leaves the subject out of the partner's CSV while the other subscribers are in it, and
the subject held back is a FlowBlocked on the opt-out's timeline, after received, applied and acknowledged; a data map
registering a sale flow with no notice and no opt-out link is refused by the data map check, naming the flow and
§7012/§7013, and a service given it refuses to start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devtools.demo.generator import DATAMAP_PATH, demo_env
from services.common.datamap.loader import DataMapError, load_datamap
from tests.e2e.demo_world import World, submit
from tests.scenarios.flows import (
    assert_effect_story,
    blocked_entry,
    csv_emails,
    entries_of,
    job_env,
    run_module,
    subscriber_emails,
)

pytestmark = [pytest.mark.e2e]


def test_the_coop_export_run_through_the_gate_leaves_out_the_opted_out_subscriber(scenario_world: World,
                                                                                  tmp_path: Path) -> None:  # fmt: skip
    world = scenario_world
    listed = {email.lower() for email in subscriber_emails(world)}
    on_the_list = [customer for customer in world.customers if customer.email.lower() in listed]
    assert len(on_the_list) >= 3, "the demo marketing list should hold several customers"
    opted_out, others = on_the_list[-1], on_the_list[-3:-1]
    request_id = submit(world, opted_out, "opt_out")
    entries_of(world, request_id, "OptOutAcknowledged")

    out = tmp_path / "brightlist.csv"
    ran = run_module(world, "devtools.demo.coop_export", "--out", str(out))
    assert ran.returncode == 0, ran.stderr
    exported = csv_emails(out)
    assert opted_out.email.lower() not in exported
    assert {customer.email.lower() for customer in others} <= exported
    assert "held back by their opt-out" in ran.stdout and opted_out.email not in ran.stdout + ran.stderr

    blocked = blocked_entry(world, request_id, gate="coop-export", probe=False)
    details = blocked["details"]
    assert (details["flow"], details["reason"], details["recipient"], details["relation"], details["count"]) == (
        "coop-export", "sale_opt_out", "brightlist", "sale", 1)  # fmt: skip
    assert_effect_story(world.timeline(request_id))


def test_a_sale_flow_without_notice_or_opt_out_link_fails_the_data_map_check(scenario_world: World,
                                                                             tmp_path: Path) -> None:  # fmt: skip
    document = yaml.safe_load(DATAMAP_PATH.read_text(encoding="utf-8"))
    del document["notices"]["opt_out_link"]
    coop = next(flow for flow in document["flows"] if flow["name"] == "coop-export")
    del coop["notice"]
    bad = tmp_path / "datamap-without-notices.yaml"
    bad.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")

    with pytest.raises(DataMapError) as refused:
        load_datamap(bad, demo_env(scenario_world.target))
    problems = [p for p in refused.value.problems if "flows[coop-export]" in p]
    assert any("§7012" in p for p in problems) and any("§7013" in p for p in problems), problems

    # The reference downstream, gating the co-op flow, refuses to start on it: a clear message, no traceback.
    started = subprocess.run(
        [sys.executable, "-m", "services.optout.subscriber", "--name", "doordash-check", "--gated-flows",
         "coop-export"], env=job_env(scenario_world, CCPA_DATAMAP=str(bad)), capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert started.returncode != 0
    assert "cannot start" in started.stderr and "flows[coop-export]" in started.stderr and "§7013" in started.stderr
    assert "Traceback" not in started.stderr
    # So does the co-op export job, in one line.
    job = run_module(scenario_world, "devtools.demo.coop_export", "--out", str(tmp_path / "never.csv"),
                     env=job_env(scenario_world, CCPA_DATAMAP=str(bad)))  # fmt: skip
    assert job.returncode == 1 and "flows[coop-export]" in job.stderr and len(job.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "never.csv").exists()
