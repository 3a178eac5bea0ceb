"""Stored values as a report may carry them: JSON-friendly, and scrubbed of every §7024(d) value of the subject."""

from __future__ import annotations

import json
import math
import re
from base64 import b64encode
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from services.discovery.report.model import PieceValue, iso
from services.discovery.report.texts import WITHHELD_MARKER

# Shorter withheld values would blank out unrelated text (a 2-digit answer matches every number).
MIN_SECRET_LENGTH = 4
SEPARATORS = re.compile(r"[\s\-./()]+")


def has_value(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        return len(value) > 0
    return True


def normalise(value: Any) -> PieceValue:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime | date):
        return iso(value)
    if isinstance(value, time | Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "base64:" + b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(key): normalise(item) for key, item in sorted(value.items(), key=lambda pair: str(pair[0]))}
    if isinstance(value, set | frozenset):
        return sorted((normalise(item) for item in value), key=canonical)
    if isinstance(value, list | tuple):
        return [normalise(item) for item in value]
    return str(value)


def canonical(value: PieceValue) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def as_text(value: PieceValue) -> str:
    """One cell or line of text: scalars as written, lists and objects as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return canonical(value)
    return str(value)


class Scrubber:
    """Replaces the subject's withheld values wherever else they turn up (free-text notes, record locators)."""

    def __init__(self, withheld_values: Iterable[Any]) -> None:
        found = {text for value in withheld_values for text in _variants(normalise(value))}
        self.secrets = sorted((s for s in found if len(s) >= MIN_SECRET_LENGTH), key=lambda s: (-len(s), s))

    def text(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, WITHHELD_MARKER)
        return text

    def value(self, value: PieceValue) -> PieceValue:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, int | float) and not isinstance(value, bool) and str(value) in self.secrets:
            return WITHHELD_MARKER
        return value


def _variants(value: PieceValue) -> Iterator[str]:
    """The value's text, and its text without separators (123-45-6789 also hides 123456789)."""
    if isinstance(value, list):
        for item in value:
            yield from _variants(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _variants(item)
    elif value is not None and not isinstance(value, bool):
        text = str(value).strip()
        yield text
        yield SEPARATORS.sub("", text)
