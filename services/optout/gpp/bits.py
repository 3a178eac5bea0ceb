"""Shared parts of the IAB privacy strings: the error type, base64url with bit padding, Fibonacci coding."""

from __future__ import annotations

from dataclasses import dataclass, field


class PrivacyStringError(ValueError):
    """A privacy string, or values to encode into one, break the spec; the message names the field."""


class TruncatedSegment(PrivacyStringError):
    """A segment ends before a field it must hold."""


# --- Base64url with bit padding -------------------------------------------------------------------------------

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_SIXTETS = {char: index for index, char in enumerate(ALPHABET)} | {"+": 62, "/": 63}


def bits_to_base64url(bits: str) -> str:
    """Pad right with zeros to a multiple of 6 bits, then 6 bits per character."""
    padded = bits + "0" * (-len(bits) % 6)
    return "".join(ALPHABET[int(padded[start : start + 6], 2)] for start in range(0, len(padded), 6))


def base64url_to_bits(text: str, where: str = "base64url") -> str:
    """Six bits per character; `+` and `/` are read as `-` and `_`. Trailing padding stays in the result."""
    for position, char in enumerate(text):
        if char not in _SIXTETS:
            raise PrivacyStringError(
                f"{where}: character {char!r} at position {position} is not base64url (expected A-Z a-z 0-9 - _)"
            )
    return "".join(format(_SIXTETS[char], "06b") for char in text)


# --- Fibonacci coding -----------------------------------------------------------------------------------------


def _fibonacci_up_to(value: int) -> list[int]:
    numbers = [1, 2]
    while numbers[-1] + numbers[-2] <= value:
        numbers.append(numbers[-1] + numbers[-2])
    return [number for number in numbers if number <= value]


def fibonacci_encode(value: int) -> str:
    """Zeckendorf digits, least significant first, then the terminating `1` (1 -> `11`, 4 -> `1011`)."""
    if value < 1:
        raise PrivacyStringError(f"Fibonacci code: {value} cannot be encoded, expected an integer >= 1")
    numbers = _fibonacci_up_to(value)
    digits = ["0"] * len(numbers)
    remaining = value
    for index in reversed(range(len(numbers))):
        if numbers[index] <= remaining:
            digits[index] = "1"
            remaining -= numbers[index]
    return "".join(digits) + "1"


class BitReader:
    def __init__(self, bits: str, where: str) -> None:
        self.bits, self.where, self.position = bits, where, 0

    def integer(self, width: int, name: str) -> int:
        end = self.position + width
        if end > len(self.bits):
            raise TruncatedSegment(
                f"{self.where} {name}: needs bits {self.position}-{end - 1}, "
                f"but the segment has only {len(self.bits)} bits"
            )
        value = int(self.bits[self.position : end], 2)
        self.position = end
        return value

    def fibonacci(self, name: str) -> int:
        end = self.bits.find("11", self.position)
        if end < 0:
            raise PrivacyStringError(
                f"{self.where} {name}: Fibonacci code from bit {self.position} has no terminating '11'"
            )
        digits = self.bits[self.position : end + 1]
        self.position = end + 2
        numbers = [1, 2]
        while len(numbers) < len(digits):
            numbers.append(numbers[-1] + numbers[-2])
        return sum(number for number, digit in zip(numbers, digits, strict=False) if digit == "1")


def fibonacci_decode(bits: str) -> int:
    """The value of one Fibonacci code word (`011` -> 2); bits after its terminating `11` are ignored."""
    return BitReader(bits, "Fibonacci code").fibonacci("value")


# --- Strict or lenient checking -------------------------------------------------------------------------------


@dataclass
class Checks:
    """Raises on a flagged defect when strict; otherwise records it as a warning and goes on."""

    strict: bool
    warnings: list[str] = field(default_factory=list)

    def flag(self, message: str) -> None:
        if self.strict:
            raise PrivacyStringError(message)
        self.warnings.append(message)

    def padding(self, bits: str, used: int, where: str) -> None:
        if "1" in bits[used:]:
            self.flag(f"{where}: bits after bit {used - 1} must be zero padding, found {bits[used:]!r}")
