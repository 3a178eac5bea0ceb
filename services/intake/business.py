"""Who the consumer deals with: named on the privacy center's pages and in the e-mails (CCPA_BUSINESS_*)."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.settings import BusinessSettings


@dataclass(frozen=True)
class Business:
    """Who writes to the consumer, and how to reach it."""

    name: str
    contact_email: str
    contact_phone: str
    postal_address: str

    @classmethod
    def of(cls, settings: BusinessSettings) -> Business:
        return cls(settings.business_name, settings.business_contact_email, settings.business_contact_phone,
                   settings.business_postal_address)  # fmt: skip
