"""Precision and recall of a scan's unmapped-PI findings against a ground truth of planted fields and decoys."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.discovery.scanner.model import FieldKey, ScanResult


@dataclass(frozen=True)
class PrecisionRecall:
    true_positives: frozenset[FieldKey]
    false_positives: frozenset[FieldKey]  # flagged, not in the truth
    false_negatives: frozenset[FieldKey]  # in the truth, not flagged
    decoys_flagged: frozenset[FieldKey]  # the false positives that were planted to tempt the scanner

    @property
    def precision(self) -> float:
        flagged = len(self.true_positives) + len(self.false_positives)
        return len(self.true_positives) / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        expected = len(self.true_positives) + len(self.false_negatives)
        return len(self.true_positives) / expected if expected else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def evaluate(result: ScanResult, truth_pi: Iterable[tuple[str, ...]],
             decoys: Iterable[tuple[str, ...]] = ()) -> PrecisionRecall:  # fmt: skip
    """Count `unmapped_pi` findings against (store, collection, field) keys; longer tuples (a kind) are cut to three."""
    truth = {_key(item) for item in truth_pi}
    tempting = {_key(item) for item in decoys}
    found = {finding.key for finding in result.unmapped_pi}
    false_positives = found - truth
    return PrecisionRecall(
        true_positives=frozenset(found & truth),
        false_positives=frozenset(false_positives),
        false_negatives=frozenset(truth - found),
        decoys_flagged=frozenset(false_positives & tempting),
    )


def _key(item: tuple[str, ...]) -> FieldKey:
    if len(item) < 3:
        raise ValueError(f"expected (store, collection, field[, kind]), got {item!r}")
    return (item[0], item[1], item[2])
