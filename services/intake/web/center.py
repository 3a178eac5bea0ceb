"""What the privacy center's pages need from intake: the business they speak for, the intake use cases, signals."""

from __future__ import annotations

from fastapi import Request

from services.intake.bootstrap import Intake
from services.intake.business import Business
from services.intake.settings import IntakeSettings
from services.intake.signals import carries_gpc


class PrivacyCenter:
    """Held on app.state.privacy_center; each page module reads what it needs from here."""

    def __init__(self, intake: Intake, settings: IntakeSettings) -> None:
        self.intake = intake
        self.settings = settings
        self.business = Business.of(settings)

    def gpc(self, request: Request) -> bool:
        """Whether this browser sent a Global Privacy Control signal (Sec-GPC: 1) with this request."""
        return carries_gpc(request)
