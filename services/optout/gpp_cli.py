"""`ccpa gpp`: decode a GPP or US Privacy string to JSON with the California reading, and encode GPP JSON back."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Annotated, Any

import typer

from services.optout.gpp import (
    GppString,
    PrivacyStringError,
    california_choices,
    decode_gpp,
    encode_gpp,
    is_us_privacy,
)
from services.optout.gpp.bits import Checks
from services.optout.gpp.usp import decode_uspv1

gpp_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                      help="IAB Global Privacy Platform and US Privacy strings: decode and encode")  # fmt: skip


def gpp_json(gpp: GppString) -> dict[str, Any]:
    """Decode's output shape; `california` and `warnings` are ignored by `gpp_from_json`."""
    return {
        "version": gpp.version,
        "section_ids": gpp.section_ids,
        "sections": gpp.sections,
        "raw_sections": {str(section_id): body for section_id, body in gpp.raw_sections.items()},
        "california": asdict(california_choices(gpp)),
        "warnings": gpp.warnings,
    }


def usp_json(text: str) -> dict[str, Any]:
    """Decode's output for a bare US Privacy string (`1YNN`): its fields by IAB name and the California reading."""
    fields = decode_uspv1(text, Checks(strict=True))  # decode_usp's messages: length, version, each position
    return {"us_privacy": fields, "california": asdict(california_choices(GppString(sections={"uspv1": fields})))}


def _object(document: dict[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise PrivacyStringError(f"json {key}: expected an object, got {value!r}")
    return value


def _raw_sections(document: dict[str, Any]) -> dict[int, str]:
    raw = _object(document, "raw_sections")
    if not all(key.isdigit() and isinstance(body, str) for key, body in raw.items()):
        raise PrivacyStringError(f"json raw_sections: expected section id -> string, got {raw!r}")
    return {int(key): body for key, body in raw.items()}


def gpp_from_json(document: object) -> GppString:
    if not isinstance(document, dict):
        raise PrivacyStringError(f"json: expected an object with 'sections', got {document!r}")
    sections = _object(document, "sections")
    if not all(isinstance(fields, dict) for fields in sections.values()):
        raise PrivacyStringError("json sections: expected section name -> object of IAB fields")
    ids = document.get("section_ids", [])
    if not isinstance(ids, list) or not all(isinstance(item, int) for item in ids):
        raise PrivacyStringError(f"json section_ids: expected a list of integers, got {ids!r}")
    return GppString(
        version=document.get("version", 1), section_ids=ids, sections=sections, raw_sections=_raw_sections(document)
    )


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


@gpp_app.command("decode")
def decode(
    string: Annotated[
        str, typer.Argument(metavar="STRING", help="A GPP string (DBABBg~BUUAAABY.QA) or a US Privacy string (1YNN)")
    ],
    lenient: Annotated[
        bool,
        typer.Option(
            "--lenient", help="Report defects such as MspaCoveredTransaction=0 as warnings instead of failing"
        ),
    ] = False,
) -> None:
    """Print the decoded sections (IAB field names), the California reading and any warnings, as JSON."""
    try:
        decoded = usp_json(string) if is_us_privacy(string) else gpp_json(decode_gpp(string, strict=not lenient))
    except PrivacyStringError as error:
        raise _fail(str(error)) from None
    typer.echo(json.dumps(decoded, indent=2))


@gpp_app.command("encode")
def encode(
    json_text: Annotated[
        str | None, typer.Option("--json", metavar="JSON", help="The JSON; read from stdin when absent")
    ] = None,
) -> None:
    """Print the GPP string for JSON shaped like decode's output."""
    text = sys.stdin.read() if json_text is None else json_text
    try:
        typer.echo(encode_gpp(gpp_from_json(json.loads(text))))
    except json.JSONDecodeError as error:
        raise _fail(f"input is not JSON: {error}") from None
    except PrivacyStringError as error:
        raise _fail(str(error)) from None
