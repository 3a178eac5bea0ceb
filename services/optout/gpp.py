"""IAB privacy strings for the opt-out service: GPP (header, usca, usnat, uspv1) and the US Privacy string.

Pure codec: decode what browsers and CMPs send, encode what the opt-out service publishes (reference §5.3, §5.4).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, cast


class PrivacyStringError(ValueError):
    """A privacy string, or values to encode into one, break the spec; the message names the field."""


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


class _BitReader:
    def __init__(self, bits: str, where: str) -> None:
        self.bits, self.where, self.position = bits, where, 0

    def integer(self, width: int, name: str) -> int:
        end = self.position + width
        if end > len(self.bits):
            raise PrivacyStringError(
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
    return _BitReader(bits, "Fibonacci code").fibonacci("value")


# --- Strict or lenient checking -------------------------------------------------------------------------------


@dataclass
class _Checks:
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


def _read_fibonacci_range(reader: _BitReader, name: str) -> list[int]:
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


def _decode_header(text: str, checks: _Checks) -> list[int]:
    bits = base64url_to_bits(text, "header")
    reader = _BitReader(bits, "header")
    kind = reader.integer(6, "Type")
    if kind != HEADER_TYPE:
        raise PrivacyStringError(f"header: Type is {kind}, expected {HEADER_TYPE}")
    version = reader.integer(6, "Version")
    if version != 1:
        raise PrivacyStringError(f"header: Version is {version}, expected 1")
    ids = _read_fibonacci_range(reader, "Sections")
    checks.padding(bits, reader.position, "header")
    return ids


def _encode_header(ids: list[int]) -> str:
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


def _check(where: str, value: int, rule: _Rule, checks: _Checks) -> None:
    if value in rule.allowed:
        return
    if value in rule.tolerated:
        checks.flag(f"{where}: value {value} is invalid ({rule.meaning})")
        return
    raise PrivacyStringError(f"{where}: value {value} is not allowed ({rule.meaning})")


def _slot_label(section: str, item: _Field, index: int | None) -> str:
    return f"{section} {item.name}" if index is None else f"{section} {item.name}[{index}] (slot {index + 1})"


def _read_field(section: str, item: _Field, reader: _BitReader, checks: _Checks) -> int | list[int]:
    if not item.slots:
        value = reader.integer(2, item.name)
        _check(_slot_label(section, item, None), value, item.rule, checks)
        return value
    values = [reader.integer(2, f"{item.name}[{index}]") for index in range(item.slots)]
    for index, value in enumerate(values):
        _check(_slot_label(section, item, index), value, item.rule, checks)
    return values


def _core_version(section: _BitSection, bits: str, checks: _Checks) -> int:
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


def _decode_core(section: _BitSection, text: str, checks: _Checks) -> dict[str, Any]:
    bits = base64url_to_bits(text, f"{section.name} core segment")
    version = _core_version(section, bits, checks)
    needed = section.core_bits(version)
    if len(bits) < needed:
        raise PrivacyStringError(
            f"{section.name}: core segment has {len(bits)} bits, expected at least {needed} for Version {version}"
        )
    reader = _BitReader(bits, section.name)
    reader.position = 6
    fields: dict[str, Any] = {"Version": version}
    for item in section.layout(version):
        fields[item.name] = _read_field(section.name, item, reader, checks)
    checks.padding(bits, needed, f"{section.name} core segment")
    return fields


def _decode_subsegment(section: str, text: str, number: int, checks: _Checks) -> dict[str, Any]:
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


def _decode_bit_section(section: _BitSection, text: str, checks: _Checks) -> dict[str, Any]:
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
    checks = _Checks(strict=True)
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


def _encode_bit_section(section: _BitSection, fields: Mapping[str, Any]) -> str:
    version = _int_value(f"{section.name} Version", fields.get("Version"))
    layout = section.layout(version)
    _check_names(section, layout, fields)
    bits = format(version, "06b") + "".join(_field_bits(section.name, item, fields[item.name]) for item in layout)
    return bits_to_base64url(bits) + _gpc_subsegment(section.name, fields.get("Gpc"))


# --- US Privacy string (CCPA v1) and the uspv1 section (id 6) ------------------------------------------------

UspFlag = Literal["Y", "N", "-"]
_USP_POSITIONS = ("Notice", "OptOutSale", "LspaCovered")


@dataclass(frozen=True)
class UsPrivacy:
    """`[Version][Notice][OptOutSale][LspaCovered]`: Y yes, N no, - not applicable."""

    notice: UspFlag
    opt_out_sale: UspFlag
    lspa_covered: UspFlag
    version: int = 1

    @property
    def ccpa_applies(self) -> bool:
        return self.opt_out_sale != "-"


def _check_usp(usp: UsPrivacy) -> None:
    if isinstance(usp.version, bool) or usp.version != 1:
        raise PrivacyStringError(f"us_privacy Version (position 1): {usp.version!r} is not supported, expected 1")
    flags = (usp.notice, usp.opt_out_sale, usp.lspa_covered)
    for position, (name, flag) in enumerate(zip(_USP_POSITIONS, flags, strict=True), start=2):
        if flag not in ("Y", "N", "-"):
            raise PrivacyStringError(
                f"us_privacy {name} (position {position}): {flag!r} is not allowed, expected 'Y', 'N' or '-'"
            )
    if usp.opt_out_sale == "-" and (usp.notice, usp.lspa_covered) != ("-", "-"):
        raise PrivacyStringError(
            f"us_privacy OptOutSale (position 3): '-' means CCPA does not apply, but Notice "
            f"{usp.notice!r} and LspaCovered {usp.lspa_covered!r} say it does; expected "
            "'Y' or 'N' here, or '-' in every position"
        )


def decode_usp(text: str) -> UsPrivacy:
    """Parse a 4-character US Privacy string such as `1YNN`."""
    if len(text) != 4:
        raise PrivacyStringError(
            f"us_privacy: {text!r} has {len(text)} characters, expected 4 ([Version][Notice][OptOutSale][LspaCovered])"
        )
    if text[0] != "1":
        raise PrivacyStringError(f"us_privacy Version (position 1): {text[0]!r} is not supported, expected '1'")
    flags = cast(tuple[UspFlag, UspFlag, UspFlag], tuple(text[1:]))
    usp = UsPrivacy(*flags)
    _check_usp(usp)
    return usp


def encode_usp(usp: UsPrivacy) -> str:
    _check_usp(usp)
    return f"{usp.version}{usp.notice}{usp.opt_out_sale}{usp.lspa_covered}"


def _decode_uspv1(text: str, checks: _Checks) -> dict[str, Any]:
    usp = decode_usp(text)
    return {
        "Version": usp.version,
        "Notice": usp.notice,
        "OptOutSale": usp.opt_out_sale,
        "LspaCovered": usp.lspa_covered,
    }


def _encode_uspv1(fields: Mapping[str, Any]) -> str:
    expected = {"Version", *_USP_POSITIONS}
    if set(fields) != expected:
        raise PrivacyStringError(f"uspv1: fields are {sorted(fields)}, expected {sorted(expected)}")
    return encode_usp(UsPrivacy(fields["Notice"], fields["OptOutSale"], fields["LspaCovered"], fields["Version"]))


# --- GPP string ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Codec:
    name: str
    section_id: int
    decode: Callable[[str, _Checks], dict[str, Any]]
    encode: Callable[[Mapping[str, Any]], str]


_CODECS = {
    codec.section_id: codec
    for codec in (
        _Codec("uspv1", 6, _decode_uspv1, _encode_uspv1),
        _Codec("usnat", 7, partial(_decode_bit_section, USNAT), partial(_encode_bit_section, USNAT)),
        _Codec("usca", 8, partial(_decode_bit_section, USCA), partial(_encode_bit_section, USCA)),
    )
}
_CODECS_BY_NAME = {codec.name: codec for codec in _CODECS.values()}


@dataclass
class GppString:
    """A decoded GPP string: sections by IAB name; sections this codec does not decode stay raw, by id."""

    version: int = 1
    section_ids: list[int] = field(default_factory=list)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    raw_sections: dict[int, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def decode_gpp(text: str, strict: bool = True) -> GppString:
    """Strict raises on every defect; lenient returns defects it can read past in `warnings`."""
    checks = _Checks(strict)
    header, *bodies = text.split("~")
    ids = _decode_header(header, checks)
    if len(bodies) != len(ids):
        raise PrivacyStringError(
            f"gpp: header lists {len(ids)} section(s) {ids}, but the string has {len(bodies)} section bodies after it"
        )
    gpp = GppString(section_ids=ids, warnings=checks.warnings)
    for section_id, body in zip(ids, bodies, strict=True):
        codec = _CODECS.get(section_id)
        if codec is None:
            gpp.raw_sections[section_id] = body
            name = SECTION_NAMES.get(section_id, "unregistered")
            checks.warnings.append(f"section {section_id} ({name}) is not decoded; kept raw")
        else:
            gpp.sections[codec.name] = codec.decode(body, checks)
    return gpp


def _section_bodies(gpp: GppString) -> dict[int, str]:
    bodies: dict[int, str] = {}
    for section_id, body in gpp.raw_sections.items():
        if section_id in _CODECS or section_id == HEADER_TYPE or not body or "~" in body:
            raise PrivacyStringError(
                f"gpp: raw section {section_id} {body!r} cannot be kept raw; "
                "expected an id this codec does not decode and a body without '~'"
            )
        bodies[section_id] = body
    for name, fields in gpp.sections.items():
        codec = _CODECS_BY_NAME.get(name)
        if codec is None:
            raise PrivacyStringError(
                f"gpp: section {name!r} cannot be encoded; expected one of "
                f"{', '.join(_CODECS_BY_NAME)} (or give it raw by id)"
            )
        bodies[codec.section_id] = codec.encode(fields)
    return bodies


def encode_gpp(gpp: GppString) -> str:
    """Sections are written in id order; `section_ids`, when given, must match the sections."""
    if gpp.version != 1:
        raise PrivacyStringError(f"header: Version is {gpp.version}, expected 1")
    bodies = _section_bodies(gpp)
    ids = sorted(bodies)
    if gpp.section_ids and sorted(gpp.section_ids) != ids:
        raise PrivacyStringError(f"gpp: section_ids {gpp.section_ids} do not match the sections given {ids}")
    return "~".join([_encode_header(ids), *(bodies[section_id] for section_id in ids)])


# --- California mapping and the strings the opt-out service publishes -----------------------------------------

USCA_SENSITIVE_SLOTS = (
    "ssn_dl_state_id_passport",
    "account_login_financial_credentials",
    "precise_geolocation",
    "racial_ethnic_religious_union",
    "mail_email_text_contents",
    "genetic",
    "biometric_identification",
    "health",
    "sex_life_orientation",
)


@dataclass(frozen=True)
class CaliforniaChoices:
    """What a GPP string asks of a California business; None where the string does not say."""

    sale_opt_out: bool | None
    share_opt_out: bool | None
    limit_sensitive: list[str]
    gpc: bool | None


def _gpc(sections: list[dict[str, Any]]) -> bool | None:
    signals = [section["Gpc"] for section in sections if "Gpc" in section]
    return True if True in signals else (False if signals else None)


def _choice(values: list[int], opted_out: bool) -> bool | None:
    return True if opted_out else (False if 2 in values else None)


def california_choices(gpp: GppString) -> CaliforniaChoices:
    """Any opt-out (SaleOptOut=1, SharingOptOut=1, Gpc, uspv1 OptOutSale=Y) is one of sale and sharing (§1798.120)."""
    sections = [gpp.sections[name] for name in ("usca", "usnat") if name in gpp.sections]
    usp_sale = {"Y": [1], "N": [2]}.get(gpp.sections.get("uspv1", {}).get("OptOutSale", "-"), [])
    sale = [section.get("SaleOptOut", 0) for section in sections] + usp_sale
    share = [section.get("SharingOptOut", 0) for section in sections]
    gpc = _gpc(sections)
    opted_out = gpc is True or 1 in sale or 1 in share
    sensitive = gpp.sections.get("usca", {}).get("SensitiveDataProcessing", [])
    limits = [slot for slot, value in zip(USCA_SENSITIVE_SLOTS, sensitive, strict=False) if value == 1]
    return CaliforniaChoices(_choice(sale, opted_out), _choice(share, opted_out), limits, gpc)


def _usca_fields(sale_opt_out: bool, share_opt_out: bool, limits: AbstractSet[str], covered: bool) -> dict[str, Any]:
    return {
        "Version": 1,
        "SaleOptOutNotice": 1,
        "SharingOptOutNotice": 1,
        "SensitiveDataLimitUseNotice": 1,
        "SaleOptOut": 1 if sale_opt_out else 2,
        "SharingOptOut": 1 if share_opt_out else 2,
        "SensitiveDataProcessing": [1 if slot in limits else 2 for slot in USCA_SENSITIVE_SLOTS],
        "KnownChildSensitiveDataConsents": [0, 0],
        "PersonalDataConsents": 0,
        "MspaCoveredTransaction": 1 if covered else 2,
        "MspaOptOutOptionMode": 0,
        "MspaServiceProviderMode": 0,
    }


def usca_for(
    sale_opt_out: bool,
    share_opt_out: bool,
    limits: AbstractSet[str],
    gpc: bool | None,
    *,
    mspa_covered_transaction: bool = False,
) -> str:
    """Header + usca for a consumer's current choices; gpc None leaves out the GPC sub-segment."""
    unknown = sorted(set(limits) - set(USCA_SENSITIVE_SLOTS))
    if unknown:
        raise PrivacyStringError(
            f"usca_for limits: {unknown[0]!r} is not a usca sensitive-data slot; "
            f"expected one of {', '.join(USCA_SENSITIVE_SLOTS)}"
        )
    if gpc and not (sale_opt_out and share_opt_out):
        raise PrivacyStringError(
            "usca_for: gpc=True needs sale_opt_out and share_opt_out True "
            "(a GPC signal is an opt-out of sale and sharing, Regs §7025)"
        )
    fields = _usca_fields(sale_opt_out, share_opt_out, limits, mspa_covered_transaction)
    if gpc is not None:
        fields["Gpc"] = gpc
    return encode_gpp(GppString(sections={"usca": fields}))


def usp_for(sale_opt_out: bool) -> str:
    """`1YYN` or `1YNN`: notice given, the sale choice, not an LSPA covered transaction."""
    return encode_usp(UsPrivacy("Y", "Y" if sale_opt_out else "N", "N"))
