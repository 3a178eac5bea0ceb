"""Whole GPP strings: header~section~section, decoded into IAB field names and encoded back."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from services.optout.gpp.bits import Checks, PrivacyStringError
from services.optout.gpp.sections import (
    HEADER_TYPE,
    SECTION_NAMES,
    USCA,
    USNAT,
    decode_bit_section,
    decode_header,
    encode_bit_section,
    encode_header,
)
from services.optout.gpp.usp import decode_uspv1, encode_uspv1

# --- GPP string ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Codec:
    name: str
    section_id: int
    decode: Callable[[str, Checks], dict[str, Any]]
    encode: Callable[[Mapping[str, Any]], str]


_CODECS = {
    codec.section_id: codec
    for codec in (
        _Codec("uspv1", 6, decode_uspv1, encode_uspv1),
        _Codec("usnat", 7, partial(decode_bit_section, USNAT), partial(encode_bit_section, USNAT)),
        _Codec("usca", 8, partial(decode_bit_section, USCA), partial(encode_bit_section, USCA)),
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


def is_us_privacy(text: str) -> bool:
    """A US Privacy string starts with its version digit (`1YNN`); no GPP string can (its header starts with 'D')."""
    return text[:1].isdigit()


def decode_gpp(text: str, strict: bool = True) -> GppString:
    """Strict raises on every defect; lenient returns defects it can read past in `warnings`."""
    checks = Checks(strict)
    header, *bodies = text.split("~")
    ids = decode_header(header, checks)
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
    return "~".join([encode_header(ids), *(bodies[section_id] for section_id in ids)])
