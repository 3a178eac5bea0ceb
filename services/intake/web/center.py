"""What the privacy center's pages need from intake: the business they speak for, the intake use cases, signals."""

from __future__ import annotations

from fastapi import Request

from services.common.datamap import load_datamap
from services.intake.bootstrap import Intake
from services.intake.business import Business
from services.intake.privacy_policy import PrivacyPolicy, privacy_policy
from services.intake.settings import IntakeSettings
from services.intake.signals import carries_gpc


class PrivacyCenter:
    """Held on app.state.privacy_center; each page module reads what it needs from here."""

    def __init__(self, intake: Intake, settings: IntakeSettings) -> None:
        self.intake = intake
        self.settings = settings
        self.business = Business.of(settings)
        self.policy = policy_of(settings)

    def gpc(self, request: Request) -> bool:
        """Whether this browser sent a Global Privacy Control signal (Sec-GPC: 1) with this request."""
        return carries_gpc(request)


def policy_of(settings: IntakeSettings) -> PrivacyPolicy | None:
    """The privacy policy written from the data map (CCPA_DATAMAP), read once at start-up; None without one."""
    if settings.datamap_path is None:
        return None
    return privacy_policy(load_datamap(settings.datamap_path), settings.privacy_policy_updated)
