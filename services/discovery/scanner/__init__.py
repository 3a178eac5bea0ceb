"""The PI scanner: samples every store of the data map and finds personal information the map does not describe."""

from services.discovery.scanner.detectors import Kind, contains, detect
from services.discovery.scanner.evaluate import PrecisionRecall, evaluate
from services.discovery.scanner.model import (
    CollectionCoverage,
    Detection,
    FieldFinding,
    ScanOptions,
    ScanResult,
    StoreCoverage,
    Suggestion,
    result_json,
)
from services.discovery.scanner.patch import suggested_patch
from services.discovery.scanner.scan import ScanProgress, scan

__all__ = [
    "CollectionCoverage",
    "Detection",
    "FieldFinding",
    "Kind",
    "PrecisionRecall",
    "ScanOptions",
    "ScanProgress",
    "ScanResult",
    "StoreCoverage",
    "Suggestion",
    "contains",
    "detect",
    "evaluate",
    "result_json",
    "scan",
    "suggested_patch",
]
