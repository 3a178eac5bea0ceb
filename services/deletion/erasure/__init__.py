"""The erasure engine: plan and execute the deletion of a subject's records in SQL, Redis and JSON-lines stores,
keep a suppression ledger of what was erased, honour legal holds, and reapply the ledger after a backup restore.
"""

from services.deletion.erasure.engine import ErasureEngine, open_eraser
from services.deletion.erasure.holds import LegalHold, LegalHolds
from services.deletion.erasure.keys import ErasureKeys, erasure_keys
from services.deletion.erasure.ledger import Ledger, should_suppress
from services.deletion.erasure.outcome import (
    ErasureError,
    ErasureJournal,
    ErasureOutcome,
    Exemption,
    StoreOutcome,
)
from services.deletion.erasure.plan import ErasurePlan, StorePlan, plan_erasure
from services.deletion.erasure.reapply import ReapplyOutcome, reapply
from services.deletion.erasure.tables import create_erasure_tables, metadata

__all__ = [
    "ErasureEngine",
    "ErasureError",
    "ErasureJournal",
    "ErasureKeys",
    "ErasureOutcome",
    "ErasurePlan",
    "Exemption",
    "Ledger",
    "LegalHold",
    "LegalHolds",
    "ReapplyOutcome",
    "StoreOutcome",
    "StorePlan",
    "create_erasure_tables",
    "erasure_keys",
    "metadata",
    "open_eraser",
    "plan_erasure",
    "reapply",
    "should_suppress",
]
