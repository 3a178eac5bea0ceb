"""CCPA_ENVIRONMENT=production refuses the development defaults (SQLite, the demo data map, the local stack's
generated secrets, the operator's token in clear) in one message naming every setting and no value."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from devtools.local import secrets as local_secrets
from services.audit.settings import AuditSettings
from services.common.auth import token_digest
from services.common.environments import LOCAL_MASTER_KEY_ID, Environment
from services.common.settings import CommonSettings
from services.deletion.settings import DeletionSettings
from services.discovery.settings import DiscoverySettings
from services.intake.settings import IntakeSettings
from services.optout.settings import OptoutSettings

KEY = base64.b64encode(b"k" * 32).decode()
MASTER = base64.b64encode(b"m" * 32).decode()
OPERATOR, INTAKE = "o" * 40, "i" * 40
PG = "postgresql+psycopg://svc:pw@db:5432/{}"
CLEAN = {
    "CCPA_ENVIRONMENT": "production",
    "CCPA_SUBJECT_KEY_SECRET": KEY,
    "CCPA_MASTER_KEYS": json.dumps({"prod-2026": MASTER}),
    "CCPA_ACTIVE_MASTER_KEY": "prod-2026",
    "CCPA_AUDIT_SIGNING_KEY": base64.b64encode(b"s" * 32).decode(),
    "CCPA_API_CREDENTIALS": json.dumps({"operator": {"sha256": token_digest(OPERATOR), "scopes": ["requests:read"]},
                                        "intake": {"sha256": token_digest(INTAKE), "scopes": ["reports:read"]}}),
    "CCPA_SERVICE_TOKEN": INTAKE,
    "CCPA_KEYSTORE_URL": PG.format("keystore"),
    **{f"CCPA_{name}_DATABASE_URL": PG.format(name.lower()) for name in ("INTAKE", "AUDIT", "OPTOUT", "DISCOVERY",
                                                                         "DELETION")},
    "CCPA_DATAMAP": "/etc/ccpa/datamap.yaml",
}  # fmt: skip
SETTINGS = (IntakeSettings, AuditSettings, OptoutSettings, DiscoverySettings, DeletionSettings)


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in [name for name in os.environ if name.startswith("CCPA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CCPA_LOCAL_DIR", str(tmp_path / "local"))
    for name, value in CLEAN.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def refusal(settings: type[CommonSettings]) -> str:
    with pytest.raises(ValidationError, match="CCPA_ENVIRONMENT=production refuses development defaults") as refused:
        settings()
    return str(refused.value)


@pytest.mark.parametrize("settings", SETTINGS)
def test_a_clean_production_configuration_starts(
    production: pytest.MonkeyPatch, settings: type[CommonSettings]
) -> None:
    assert settings().environment is Environment.PRODUCTION


@pytest.mark.parametrize(("settings", "variable"), [(IntakeSettings, "CCPA_INTAKE_DATABASE_URL"),
                         (AuditSettings, "CCPA_AUDIT_DATABASE_URL"), (OptoutSettings, "CCPA_OPTOUT_DATABASE_URL"),
                         (DiscoverySettings, "CCPA_DISCOVERY_DATABASE_URL"),
                         (DeletionSettings, "CCPA_DELETION_DATABASE_URL"), (DeletionSettings, "CCPA_KEYSTORE_URL"),
                         (IntakeSettings, "CCPA_IDENTITY_SOURCE_URL")])  # fmt: skip
def test_sqlite_is_refused(production: pytest.MonkeyPatch, settings: type[CommonSettings], variable: str) -> None:
    production.setenv(variable, "sqlite:///.local/secret-path.db")
    message = refusal(settings)
    assert f"{variable} is SQLite" in message and "secret-path" not in message


@pytest.mark.parametrize("settings", SETTINGS)
def test_the_default_database_is_refused(production: pytest.MonkeyPatch, settings: type[CommonSettings]) -> None:
    production.delenv(settings.variable("database_url"))
    assert f"{settings.variable('database_url')} is SQLite" in refusal(settings)


@pytest.mark.parametrize("settings", [DiscoverySettings, DeletionSettings])
def test_the_data_map_must_be_given(production: pytest.MonkeyPatch, settings: type[CommonSettings]) -> None:
    production.delenv("CCPA_DATAMAP")
    assert "CCPA_DATAMAP is not set: its default is the demo company's map" in refusal(settings)
    production.setenv("CCPA_DATAMAP", "devtools/demo/datamap.yaml")
    assert "CCPA_DATAMAP is the demo company's map" in refusal(settings)


def test_the_operators_token_in_clear_is_refused(production: pytest.MonkeyPatch) -> None:
    production.setenv("CCPA_API_TOKEN", OPERATOR)
    message = refusal(AuditSettings)
    assert "CCPA_API_TOKEN is the operator's token in clear" in message and OPERATOR not in message


def test_secrets_the_local_stack_generated_are_refused(production: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for variable in local_secrets.GENERATED:  # else load_or_create hands back the environment's values
        production.delenv(variable, raising=False)
    generated = local_secrets.load_or_create(tmp_path / "local" / "secrets.json")
    production.setenv("CCPA_ACTIVE_MASTER_KEY", "prod-2026")
    production.setenv("CCPA_SUBJECT_KEY_SECRET", generated["CCPA_SUBJECT_KEY_SECRET"])
    kek = json.loads(generated["CCPA_MASTER_KEYS"])[LOCAL_MASTER_KEY_ID]
    production.setenv("CCPA_MASTER_KEYS", json.dumps({"prod-2026": kek}))  # renamed, still the generated key
    production.setenv("CCPA_SERVICE_TOKEN", generated["CCPA_INTAKE_TOKEN"])
    production.setenv("CCPA_API_CREDENTIALS", local_secrets.credentials(generated))
    message = refusal(IntakeSettings)
    for variable in ("CCPA_SUBJECT_KEY_SECRET", "CCPA_MASTER_KEYS", "CCPA_SERVICE_TOKEN", "CCPA_API_CREDENTIALS"):
        assert f"{variable} holds a secret the local stack generated" in message
    assert not any(value in message for value in (generated["CCPA_SUBJECT_KEY_SECRET"], kek,
                                                  generated["CCPA_INTAKE_TOKEN"]))  # fmt: skip


def test_the_audit_signing_key_the_local_stack_generated_is_refused(production: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:  # fmt: skip
    for variable in local_secrets.GENERATED:
        production.delenv(variable, raising=False)
    generated = local_secrets.load_or_create(tmp_path / "local" / "secrets.json")
    production.setenv("CCPA_AUDIT_SIGNING_KEY", generated["CCPA_AUDIT_SIGNING_KEY"])
    for name in ("CCPA_SUBJECT_KEY_SECRET", "CCPA_MASTER_KEYS", "CCPA_ACTIVE_MASTER_KEY"):
        production.setenv(name, CLEAN[name])
    message = refusal(AuditSettings)
    assert "CCPA_AUDIT_SIGNING_KEY holds a secret the local stack generated" in message
    assert generated["CCPA_AUDIT_SIGNING_KEY"] not in message


def test_the_local_stacks_key_id_is_a_marker_even_without_its_file(production: pytest.MonkeyPatch) -> None:
    assert json.loads(local_secrets.generate()["CCPA_MASTER_KEYS"]).keys() == {LOCAL_MASTER_KEY_ID}
    production.setenv("CCPA_MASTER_KEYS", json.dumps({LOCAL_MASTER_KEY_ID: MASTER}))
    production.setenv("CCPA_ACTIVE_MASTER_KEY", LOCAL_MASTER_KEY_ID)
    assert f"key id {LOCAL_MASTER_KEY_ID!r}" in refusal(OptoutSettings)


def test_every_offence_is_listed_in_one_message(production: pytest.MonkeyPatch) -> None:
    for variable in ("CCPA_DELETION_DATABASE_URL", "CCPA_KEYSTORE_URL", "CCPA_DATAMAP"):
        production.delenv(variable)
    production.setenv("CCPA_API_TOKEN", OPERATOR)
    message = refusal(DeletionSettings)
    assert message.count("\n    - ") == 4


@pytest.mark.parametrize("environment", ["development", "test"])
def test_development_and_test_keep_the_defaults(production: pytest.MonkeyPatch, environment: str) -> None:
    production.setenv("CCPA_ENVIRONMENT", environment)
    for variable in ("CCPA_DELETION_DATABASE_URL", "CCPA_KEYSTORE_URL", "CCPA_DATAMAP"):
        production.delenv(variable)
    production.setenv("CCPA_API_TOKEN", OPERATOR)
    assert DeletionSettings().datamap_path == "devtools/demo/datamap.yaml"


def test_a_skewed_deadline_clock_is_refused_in_production_and_kept_in_test(production: pytest.MonkeyPatch) -> None:
    production.setenv("CCPA_AUDIT_WATCH_CLOCK_SKEW_DAYS", "46")
    message = refusal(AuditSettings)
    assert "CCPA_AUDIT_WATCH_CLOCK_SKEW_DAYS is set: a skewed deadline clock is for tests only" in message
    production.setenv("CCPA_ENVIRONMENT", "test")
    assert AuditSettings().watch_clock_skew_days == 46


def test_an_unknown_environment_is_refused(production: pytest.MonkeyPatch) -> None:
    production.setenv("CCPA_ENVIRONMENT", "prod")
    with pytest.raises(ValidationError, match=r"development|production"):
        AuditSettings()


def test_the_production_manifests_run_in_production() -> None:
    k8s = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
    base = yaml.safe_load((k8s / "base" / "config.yaml").read_text())["data"]
    overlay = yaml.safe_load((k8s / "overlays" / "production" / "kustomization.yaml").read_text())
    literals = next(g for g in overlay["configMapGenerator"] if g["name"] == "ccpa-config")["literals"]
    assert base["CCPA_ENVIRONMENT"] == "production" and "CCPA_ENVIRONMENT=production" in literals
    assert base["CCPA_DATAMAP"] != "devtools/demo/datamap.yaml"
