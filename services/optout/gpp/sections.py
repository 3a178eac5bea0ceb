"""GPP header (section 3) and the bit-field sections usca (8) and usnat (7, versions 1 and 2)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from services.optout.gpp.bits import (
    BitReader,
    Checks,
    PrivacyStringError,
    TruncatedSegment,
    base64url_to_bits,
    bits_to_base64url,
    fibonacci_encode,
)

# --- Header (section id 3) ------------------------------------------------------------------------------------

HEADER_TYPE = 3
MAX_SECTION_ID = 4095  # registered ids are below 30; the bound stops a crafted run length from exhausting memory
_STATE_SECTIONS = "usva usco usut usct usfl usmt usor ustx usde usia usne usnh usnj ustn usmn usmd usin usky usri"
SECTION_NAMES = {2: "tcfeuv2", 3: "header", 5: "tcfcav1", 6: "uspv1", 7: "usnat", 8: "usca"} | dict(
    enumerate(_STATE_SECTIONS.split(), start=9)
)


def encode_fibonacci_range(ids: Iterable[int]) -> str:
    """Range(Fibonacci): Int(12) group count; per group Bool(is a run) + offset (+ run end - start)."""
    groups = _runs(sorted(set(ids)))
    bits, previous = [format(len(groups), "012b")], 0
    for start, end in groups:
        bits.append("0" if start == end else "1")
        bits.append(fibonacci_encode(start - previous))
        if end != start:
            bits.append(fibonacci_encode(end - start))
        previous = end
    return "".join(bits)


def _runs(ids: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for section_id in ids:
        if runs and runs[-1][1] + 1 == section_id:
            runs[-1] = (runs[-1][0], section_id)
        else:
            runs.append((section_id, section_id))
    return runs


def _read_fibonacci_range(reader: BitReader, name: str) -> list[int]:
    ids: list[int] = []
    for _ in range(reader.integer(12, f"{name} count")):
        is_run = reader.integer(1, f"{name} group flag") == 1
        start = (ids[-1] if ids else 0) + reader.fibonacci(f"{name} offset")
        end = start + reader.fibonacci(f"{name} run length") if is_run else start
        if end > MAX_SECTION_ID:
            raise PrivacyStringError(
                f"header {name}: section id {end} is out of range, expected at most {MAX_SECTION_ID}"
            )
        ids.extend(range(start, end + 1))
    return ids


def decode_header(text: str, checks: Checks) -> list[int]:
    if not text:
        raise PrivacyStringError(
            "gpp: the string is empty; expected a GPP string such as DBABBg~BUUAAABY.QA "
            "(or a US Privacy string such as 1YNN)"
        )
    bits = base64url_to_bits(text, "header")
    reader = BitReader(bits, "header")
    try:
        kind = reader.integer(6, "Type")
        if kind != HEADER_TYPE:
            raise PrivacyStringError(
                f"header: Type is {kind}, expected {HEADER_TYPE}: not a GPP string (a GPP string starts with 'D')"
            )
        version = reader.integer(6, "Version")
        if version != 1:
            raise PrivacyStringError(f"header: Version is {version}, expected 1")
        ids = _read_fibonacci_range(reader, "Sections")
    except TruncatedSegment:
        raise PrivacyStringError(
            f"header {text!r} is cut short: a GPP header holds Type, Version and the section ids; "
            "is part of the string missing?"
        ) from None
    checks.padding(bits, reader.position, "header")
    return ids


def encode_header(ids: list[int]) -> str:
    return bits_to_base64url(format(HEADER_TYPE, "06b") + format(1, "06b") + encode_fibonacci_range(ids))


# --- Bit-field sections (usca, usnat) -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    allowed: frozenset[int]
    meaning: str
    tolerated: frozenset[int] = frozenset()  # accepted with a warning when not strict


NOTICE = _Rule(frozenset({0, 1, 2}), "0 N/A, 1 notice given, 2 not given")
OPT_OUT = _Rule(frozenset({0, 1, 2}), "0 N/A, 1 opted out, 2 did not opt out")
CONSENT = _Rule(frozenset({0, 1, 2}), "0 N/A, 1 no consent, 2 consent")
MODE = _Rule(frozenset({0, 1, 2}), "0 N/A, 1 yes, 2 no")
COVERED = _Rule(frozenset({1, 2}), "1 yes, 2 no", tolerated=frozenset({0}))


@dataclass(frozen=True)
class _Field:
    name: str
    rule: _Rule
    slots: int = 0  # 0: one Int(2); n: an N-Bitfield(2, n)

    @property
    def bits(self) -> int:
        return 2 * max(self.slots, 1)


Layout = tuple[_Field, ...]
_MSPA = (
    _Field("PersonalDataConsents", CONSENT),
    _Field("MspaCoveredTransaction", COVERED),
    _Field("MspaOptOutOptionMode", MODE),
    _Field("MspaServiceProviderMode", MODE),
)
USCA_V1: Layout = (
    *(_Field(name, NOTICE) for name in ("SaleOptOutNotice", "SharingOptOutNotice", "SensitiveDataLimitUseNotice")),
    _Field("SaleOptOut", OPT_OUT),
    _Field("SharingOptOut", OPT_OUT),
    _Field("SensitiveDataProcessing", OPT_OUT, 9),
    _Field("KnownChildSensitiveDataConsents", CONSENT, 2),
    *_MSPA,
)


def _usnat_layout(sensitive_slots: int, child_slots: int) -> Layout:
    notices = (
        "SharingNotice",
        "SaleOptOutNotice",
        "SharingOptOutNotice",
        "TargetedAdvertisingOptOutNotice",
        "SensitiveDataProcessingOptOutNotice",
        "SensitiveDataLimitUseNotice",
    )
    opt_outs = ("SaleOptOut", "SharingOptOut", "TargetedAdvertisingOptOut")
    return (
        *(_Field(name, NOTICE) for name in notices),
        *(_Field(name, OPT_OUT) for name in opt_outs),
        _Field("SensitiveDataProcessing", CONSENT, sensitive_slots),
        _Field("KnownChildSensitiveDataConsents", CONSENT, child_slots),
        *_MSPA,
    )


@dataclass(frozen=True)
class _BitSection:
    name: str
    layouts: Mapping[int, Layout]

    def core_bits(self, version: int) -> int:
        return 6 + sum(item.bits for item in self.layouts[version])

    def layout(self, version: int) -> Layout:
        if version not in self.layouts:
            raise PrivacyStringError(
                f"{self.name} Version: {version} is not supported (expected {' or '.join(map(str, self.layouts))})"
            )
        return self.layouts[version]


USCA = _BitSection("usca", {1: USCA_V1})
USNAT = _BitSection("usnat", {1: _usnat_layout(12, 2), 2: _usnat_layout(16, 3)})


def _check(where: str, value: int, rule: _Rule, checks: Checks) -> None:
    if value in rule.allowed:
        return
    if value in rule.tolerated:
        checks.flag(f"{where}: value {value} is invalid ({rule.meaning})")
        return
    raise PrivacyStringError(f"{where}: value {value} is not allowed ({rule.meaning})")


def _slot_label(section: str, item: _Field, index: int | None) -> str:
    return f"{section} {item.name}" if index is None else f"{section} {item.name}[{index}] (slot {index + 1})"


def _read_field(section: str, item: _Field, reader: BitReader, checks: Checks) -> int | list[int]:
    if not item.slots:
        value = reader.integer(2, item.name)
        _check(_slot_label(section, item, None), value, item.rule, checks)
        return value
    values = [reader.integer(2, f"{item.name}[{index}]") for index in range(item.slots)]
    for index, value in enumerate(values):
        _check(_slot_label(section, item, index), value, item.rule, checks)
    return values


def _core_version(section: _BitSection, bits: str, checks: Checks) -> int:
    """Version 1 usnat cores as long as Version 2's are the 16/3-slot layout mislabelled (iabgpp fixtures)."""
    if len(bits) < 6:
        raise PrivacyStringError(f"{section.name}: core segment has {len(bits)} bits, expected at least 6 (Version)")
    version = int(bits[:6], 2)
    section.layout(version)
    newer = version + 1
    if newer in section.layouts and len(bits) >= section.core_bits(newer):
        checks.flag(
            f"{section.name}: Version {version} core segment has {len(bits)} bits, expected "
            f"{section.core_bits(version)}; that is the Version {newer} layout ({section.core_bits(newer)} "
            f"bits) mislabelled, which lenient mode decodes as Version {newer}"
        )
        return newer
    return version


def _decode_core(section: _BitSection, text: str, checks: Checks) -> dict[str, Any]:
    bits = base64url_to_bits(text, f"{section.name} core segment")
    version = _core_version(section, bits, checks)
    needed = section.core_bits(version)
    if len(bits) < needed:
        raise PrivacyStringError(
            f"{section.name}: core segment has {len(bits)} bits, expected at least {needed} for Version {version}"
        )
    reader = BitReader(bits, section.name)
    reader.position = 6
    fields: dict[str, Any] = {"Version": version}
    for item in section.layout(version):
        fields[item.name] = _read_field(section.name, item, reader, checks)
    checks.padding(bits, needed, f"{section.name} core segment")
    return fields


def _decode_subsegment(section: str, text: str, number: int, checks: Checks) -> dict[str, Any]:
    where = f"{section} sub-segment {number}"
    bits = base64url_to_bits(text, where)
    if len(bits) < 3:
        raise PrivacyStringError(
            f"{where}: has {len(bits)} bits, expected at least 3 (SubsectionType Int(2) + Gpc Bool)"
        )
    kind = int(bits[:2], 2)
    if kind != 1:
        checks.flag(f"{where}: SubsectionType is {kind}, expected 1 (GPC); sub-segment ignored")
        return {}
    checks.padding(bits, 3, where)
    return {"Gpc": bits[2] == "1"}


def decode_bit_section(section: _BitSection, text: str, checks: Checks) -> dict[str, Any]:
    core, *subsegments = text.split(".")
    fields = _decode_core(section, core, checks)
    for number, subsegment in enumerate(subsegments, start=1):
        fields.update(_decode_subsegment(section.name, subsegment, number, checks))
    return fields


def _int_value(where: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PrivacyStringError(f"{where}: {value!r} is not an integer")
    return value


def _field_bits(section: str, item: _Field, value: object) -> str:
    checks = Checks(strict=True)
    if not item.slots:
        _check(_slot_label(section, item, None), _int_value(f"{section} {item.name}", value), item.rule, checks)
        return format(cast(int, value), "02b")
    if not isinstance(value, list | tuple) or len(value) != item.slots:
        raise PrivacyStringError(f"{section} {item.name}: {value!r} is not a list of {item.slots} integers")
    for index, slot in enumerate(value):
        _check(
            _slot_label(section, item, index), _int_value(f"{section} {item.name}[{index}]", slot), item.rule, checks
        )
    return "".join(format(slot, "02b") for slot in value)


def _check_names(section: _BitSection, layout: Layout, fields: Mapping[str, Any]) -> None:
    expected = ["Version", *(item.name for item in layout), "Gpc"]
    unknown = sorted(set(fields) - set(expected))
    if unknown:
        raise PrivacyStringError(f"{section.name}: unknown field {unknown[0]!r}; expected {', '.join(expected)}")
    missing = [name for name in expected[:-1] if name not in fields]
    if missing:
        raise PrivacyStringError(f"{section.name}: field {missing[0]} is missing")


def _gpc_subsegment(section: str, gpc: object) -> str:
    if gpc is None:
        return ""
    if not isinstance(gpc, bool):
        raise PrivacyStringError(f"{section} Gpc: {gpc!r} is not a boolean")
    return "." + bits_to_base64url("01" + ("1" if gpc else "0"))


def encode_bit_section(section: _BitSection, fields: Mapping[str, Any]) -> str:
    version = _int_value(f"{section.name} Version", fields.get("Version"))
    layout = section.layout(version)
    _check_names(section, layout, fields)
    bits = format(version, "06b") + "".join(_field_bits(section.name, item, fields[item.name]) for item in layout)
    return bits_to_base64url(bits) + _gpc_subsegment(section.name, fields.get("Gpc"))
