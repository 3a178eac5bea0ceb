"""The all-in-one mode's pure parts: which services run, and the settings each one alone is given."""

from __future__ import annotations

import pytest

from devtools.local.process import ServiceProcess, all_in_one_env
from services.common.allinone import ALL_IN_ONE, AllInOneRefused, chosen_services, overrides, service_environment


def test_every_service_by_default_in_start_order() -> None:
    assert chosen_services(None) == ALL_IN_ONE == chosen_services("  ")
    assert ALL_IN_ONE[0] == "audit" and ALL_IN_ONE[-1] == "console"


def test_a_list_keeps_start_order_and_refuses_unknown_names() -> None:
    assert chosen_services("intake, AUDIT") == ("audit", "intake")
    with pytest.raises(AllInOneRefused, match="billing: not a service"):
        chosen_services("intake,billing")


def test_overrides_are_the_services_own_variables_only() -> None:
    env = {"CCPA_OPTOUT__CCPA_DATAMAP": "crm.yaml", "CCPA_DATAMAP": "demo.yaml", "CCPA_INTAKE__X": "1",
           "CCPA_OPTOUT__": "nameless"}  # fmt: skip
    assert overrides("optout", env) == {"CCPA_DATAMAP": "crm.yaml"}
    assert overrides("audit", env) == {}


def test_service_environment_applies_then_restores() -> None:
    env = {"CCPA_DATAMAP": "demo.yaml", "CCPA_OPTOUT__CCPA_DATAMAP": "crm.yaml", "CCPA_OPTOUT__CCPA_SERVICE_TOKEN": "t"}
    with service_environment("optout", env):
        assert env["CCPA_DATAMAP"] == "crm.yaml" and env["CCPA_SERVICE_TOKEN"] == "t"
    assert env["CCPA_DATAMAP"] == "demo.yaml" and "CCPA_SERVICE_TOKEN" not in env


def test_service_environment_restores_after_a_failure() -> None:
    env = {"CCPA_DATAMAP": "demo.yaml", "CCPA_OPTOUT__CCPA_DATAMAP": "crm.yaml"}
    with pytest.raises(RuntimeError), service_environment("optout", env):
        raise RuntimeError("settings refused")
    assert env["CCPA_DATAMAP"] == "demo.yaml"


def test_all_in_one_env_carries_each_parts_differences(tmp_path: object) -> None:
    shared = {"CCPA_DATAMAP": "demo.yaml", "KAFKA_BOOTSTRAP_SERVERS": "k:1"}
    intake = ServiceProcess("intake", {**shared, "CCPA_SERVICE_TOKEN": "i"}, 8100, tmp_path)  # type: ignore[arg-type]
    optout = ServiceProcess("optout", {**shared, "CCPA_DATAMAP": "crm.yaml"}, 8104, tmp_path)  # type: ignore[arg-type]
    env = all_in_one_env(shared, [intake, optout])
    assert env["CCPA_ALL_IN_ONE_SERVICES"] == "intake,optout"
    assert env["CCPA_INTAKE__CCPA_SERVICE_TOKEN"] == "i" and env["CCPA_INTAKE__CCPA_INTAKE_PORT"] == "8100"
    assert env["CCPA_OPTOUT__CCPA_DATAMAP"] == "crm.yaml" and env["CCPA_DATAMAP"] == "demo.yaml"
    assert "CCPA_OPTOUT__KAFKA_BOOTSTRAP_SERVERS" not in env and "CCPA_SERVICE_TOKEN" not in env


def test_the_stack_runs_the_six_services_as_one_process_when_asked() -> None:
    from devtools.local.stack import ALL_IN_ONE as STACK_ALL_IN_ONE
    from devtools.local.stack import PIPELINE, SERVICES, stack_specs

    assert stack_specs(False) == SERVICES
    together = stack_specs(True)
    assert STACK_ALL_IN_ONE in together and not {spec.name for spec in together} & set(PIPELINE)
    assert {spec.name for spec in SERVICES} - set(PIPELINE) == {spec.name for spec in together} - {"all-in-one"}
    assert together[-1].name == "downstream-adtech-sync"  # still after the HTTP services whose topics it reads
