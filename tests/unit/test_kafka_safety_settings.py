"""CCPA_KAFKA_EXTRA_CONFIG may add SASL/TLS and tuning, but may not switch off what at-least-once rests on, under any
name librdkafka accepts for it; a service so configured refuses to start with a message, not a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from services.common.kafka import CONSUMER_DEFAULTS, PINNED_SETTINGS, PRODUCER_DEFAULTS, pinned_overrides
from services.common.settings import CommonSettings
from tests.support import SETTINGS_SECRETS, settings_environment

SASL = {"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "ccpa",
        "sasl.password": "not-shown", "ssl.ca.location": "/etc/ca.pem", "linger.ms": 20}  # fmt: skip


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    return settings_environment(monkeypatch)


def test_sasl_and_tls_settings_are_added(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CCPA_KAFKA_EXTRA_CONFIG", json.dumps(SASL))
    assert CommonSettings().kafka_config().items() >= SASL.items()


@pytest.mark.parametrize("key", ["enable.idempotence", "acks", "request.required.acks", "enable.auto.commit",
                                 "auto.commit.enable", "enable.auto.offset.store", "isolation.level", "ACKS",
                                 "Enable.Idempotence", "enable_auto_commit", "isolation-level", " acks ",
                                 "topic.acks", "default.topic.config.request.required.acks"])  # fmt: skip
def test_a_pinned_setting_is_refused_naming_the_key(environment: pytest.MonkeyPatch, key: str) -> None:
    environment.setenv("CCPA_KAFKA_EXTRA_CONFIG", json.dumps({**SASL, key: "0"}))
    with pytest.raises(ValidationError, match="may not override a safety setting") as refused:
        CommonSettings()
    assert f"'{key}' is pinned" in str(refused.value)
    assert "not-shown" not in str(refused.value)  # the other settings' values (a password) are not echoed


def test_a_nested_topic_config_is_looked_into() -> None:
    refused = pinned_overrides({"default.topic.config": {"acks": 1, "message.timeout.ms": 1000}})
    assert refused == ["'default.topic.config.acks' is pinned: " + PINNED_SETTINGS["acks"]]


def test_every_value_the_wrappers_pin_is_guarded() -> None:
    pinned = {"enable.idempotence", "acks"} & PRODUCER_DEFAULTS.keys()
    pinned |= {"enable.auto.commit", "enable.auto.offset.store"} & CONSUMER_DEFAULTS.keys()
    assert pinned <= PINNED_SETTINGS.keys()
    assert all(pinned_overrides({key: "x"}) for key in PINNED_SETTINGS)


def test_a_service_with_a_pinned_override_fails_to_start_with_the_message() -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("CCPA_")}
    pinned = json.dumps({"enable.auto.commit": False})
    env |= {**SETTINGS_SECRETS, "CCPA_API_TOKEN": "t" * 32, "CCPA_KAFKA_EXTRA_CONFIG": pinned}
    started = subprocess.run([sys.executable, "-m", "services.audit"], env=env, capture_output=True, text=True,
                             timeout=60, check=False)  # fmt: skip
    assert started.returncode != 0
    assert "audit cannot start; its settings are refused" in started.stderr
    assert (
        "CCPA_KAFKA_EXTRA_CONFIG: may not override a safety setting: 'enable.auto.commit' is pinned" in started.stderr
    )
    assert "Traceback" not in started.stderr
