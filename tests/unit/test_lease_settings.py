"""Discovery's and deletion's claim leases last seconds, not minutes, and a lease out of bounds is refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.deletion.settings import DeletionSettings
from services.discovery.settings import DiscoverySettings
from tests.unit.test_database_pool import SECRETS

SERVICES = [DeletionSettings, DiscoverySettings]


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("settings", SERVICES)
def test_a_killed_worker_holds_its_claims_for_seconds(settings: type[DeletionSettings | DiscoverySettings]) -> None:
    assert settings().lease_seconds == 15.0


@pytest.mark.parametrize("settings", SERVICES)
def test_the_lease_is_read_from_the_environment(settings: type[DeletionSettings | DiscoverySettings],
                                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("CCPA_LEASE_SECONDS", "4")
    assert settings().lease_seconds == 4.0


@pytest.mark.parametrize("seconds", ["0.5", "0", "301"])
@pytest.mark.parametrize("settings", SERVICES)
def test_a_lease_out_of_bounds_is_refused(settings: type[DeletionSettings | DiscoverySettings], seconds: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("CCPA_LEASE_SECONDS", seconds)
    with pytest.raises(ValidationError, match="lease_seconds"):
        settings()
