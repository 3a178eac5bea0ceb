"""The declaration under penalty of perjury (§7062): the text's version and the evidence §7101 keeps of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.intake.api_models import Verification

# The version of the text a consumer signs (docs/declaration.md); a new wording gets a new version there and here.
DECLARATION_TEXT_VERSION = "2026-01"
DECLARATION_TEXT = (
    "I declare under penalty of perjury under the laws of the State of California that I am the consumer whose "
    "personal information is the subject of this request, or am authorised to make this request on that consumer's "
    "behalf, and that the information I have given to verify my identity is true and correct."
)


@dataclass(frozen=True)
class DeclarationEvidence:
    signed: bool
    signed_at: datetime | None
    text_version: str | None


def declaration_evidence(verification: Verification, received_at: datetime) -> DeclarationEvidence:
    """That a declaration was given, when (as stated, else when intake received it) and which text was signed."""
    if not verification.signed_declaration:
        return DeclarationEvidence(signed=False, signed_at=None, text_version=None)
    return DeclarationEvidence(True, verification.declaration_signed_at or received_at, DECLARATION_TEXT_VERSION)
