"""From a field's counts to a finding: which kinds it holds, how sure we are, its status against the data map and
the CCPA category to suggest.
"""

from __future__ import annotations

from services.common.datamap.model import Field
from services.discovery.scanner.detectors import Kind
from services.discovery.scanner.model import Confidence, Detection, FieldFinding, ScanOptions, Status, Suggestion
from services.discovery.scanner.profile import FieldProfile

FINANCIAL_NOTE = (
    "§7024(d): a financial account number is never disclosed in a response to know, only shown as held; "
    "with its security code or PIN it is also sensitive (L account_login_financial_credentials)"
)
SUGGESTIONS: dict[Kind, Suggestion] = {
    Kind.EMAIL: Suggestion("A", identifies="email"),
    Kind.PHONE: Suggestion("B", identifies="phone", note="telephone number, §1798.80(e)"),
    Kind.SSN: Suggestion("L", "ssn_dl_state_id_passport", "ssn"),
    Kind.CARD: Suggestion("B", withheld="financial_account", note=FINANCIAL_NOTE),
    Kind.IBAN: Suggestion("B", withheld="financial_account", note=FINANCIAL_NOTE),
    Kind.IP: Suggestion("A", note="IP address, an online identifier"),
    Kind.PRECISE_GEO: Suggestion("L", "precise_geolocation", note="within a radius of 1,850 feet, §1798.140(w)"),
    Kind.COARSE_GEO: Suggestion("G", note="coarse coordinates; four or more decimals would be precise (L)"),
    Kind.BIRTH_DATE: Suggestion("C", note="date of birth reveals age, a protected classification"),
    Kind.ADDRESS: Suggestion("A", note="postal address"),
    Kind.PERSON_NAME: Suggestion("A", note="real name"),
    Kind.PASSPORT: Suggestion("L", "ssn_dl_state_id_passport", "government_id"),
    Kind.DRIVERS_LICENSE: Suggestion("L", "ssn_dl_state_id_passport", "government_id"),
    Kind.PASSWORD: Suggestion("L", "account_login_financial_credentials", "password"),
    Kind.SECURITY_ANSWER: Suggestion("L", "account_login_financial_credentials", "security_qa"),
    Kind.DEVICE_ID: Suggestion("A", note="device identifier, a unique personal identifier"),
    Kind.COOKIE_ID: Suggestion("A", note="cookie or visitor id, a unique personal identifier"),
}
# Tie-break between kinds found equally often: the more sensitive one decides the suggestion.
PRECEDENCE = (Kind.SSN, Kind.CARD, Kind.IBAN, Kind.PRECISE_GEO, Kind.BIRTH_DATE, Kind.EMAIL, Kind.PHONE, Kind.ADDRESS,
              Kind.IP, Kind.COARSE_GEO)  # fmt: skip
NAME_ONLY = frozenset({Kind.PERSON_NAME, Kind.PASSPORT, Kind.DRIVERS_LICENSE, Kind.PASSWORD, Kind.SECURITY_ANSWER,
                       Kind.DEVICE_ID, Kind.COOKIE_ID})  # fmt: skip
GEO = frozenset({Kind.PRECISE_GEO, Kind.COARSE_GEO})


def classify(store: str, collection: str, profile: FieldProfile, mapped: Field | None,
             options: ScanOptions) -> FieldFinding:  # fmt: skip
    detections = _detections(profile)
    found = [d for d in detections if _qualifies(d, profile, options)]
    found.sort(key=lambda d: (d.in_text, -d.ratio, _rank(d.kind)))
    kinds = tuple(dict.fromkeys(d.kind for d in found))
    name_only = not kinds and _name_only(profile)
    if name_only and profile.hint.kind is not None:
        kinds = (profile.hint.kind,)
    is_mapped = mapped is not None and mapped.is_pi
    status = _status(bool(kinds), is_mapped)
    return FieldFinding(
        store=store,
        collection=collection,
        field=profile.name,
        status=status,
        in_datamap=mapped is not None,
        mapped_category=mapped.category if mapped else None,
        sampled=profile.sampled,
        kinds=kinds,
        in_text=bool(found) and found[0].in_text,
        confidence=_confidence(found[0], profile, options) if found else ("low" if name_only else None),
        detections=tuple(detections),
        name_hint=profile.hint.kind if profile.hint.strong else None,
        suggestion=SUGGESTIONS[kinds[0]] if kinds else None,
        note=_note(kinds, mapped, found[0].in_text if found else False, name_only),
        content=profile.content.check(mapped.sensitive if mapped else None) if profile.content else None,
    )


def _detections(profile: FieldProfile) -> list[Detection]:
    total = profile.sampled or 1
    whole = [Detection(kind, count, count / total, False) for kind, count in profile.whole.items()]
    in_text = [Detection(kind, count, count / total, True) for kind, count in profile.in_text.items()]
    return sorted(whole + in_text, key=lambda d: (d.in_text, -d.matches, str(d.kind)))


def _qualifies(detection: Detection, profile: FieldProfile, options: ScanOptions) -> bool:
    if detection.in_text:
        return detection.ratio >= options.text_ratio
    return detection.ratio >= options.min_ratio or (profile.hint.strong and _agrees(profile, detection.kind))


def _agrees(profile: FieldProfile, kind: Kind) -> bool:
    named = profile.hint.kind
    return named == kind or (named in GEO and kind in GEO)


def _name_only(profile: FieldProfile) -> bool:
    return profile.hint.strong and profile.hint.kind in NAME_ONLY and profile.valued > 0


def _confidence(best: Detection, profile: FieldProfile, options: ScanOptions) -> Confidence:
    if best.in_text or best.ratio < options.min_ratio:
        return "medium"
    return "high" if _agrees(profile, best.kind) else "medium"


def _status(detected: bool, mapped: bool) -> Status:
    if detected:
        return "covered" if mapped else "unmapped_pi"
    return "mapped_no_pi_seen" if mapped else "clean"


def _rank(kind: Kind) -> int:
    return PRECEDENCE.index(kind) if kind in PRECEDENCE else len(PRECEDENCE)


def _note(kinds: tuple[Kind, ...], mapped: Field | None, in_text: bool, name_only: bool) -> str | None:
    if not kinds:
        return None
    if mapped is not None and not mapped.is_pi:
        return "listed in the data map without a category"
    if mapped is not None and mapped.category != SUGGESTIONS[kinds[0]].category:
        return f"mapped as {mapped.category}; values look like {kinds[0]} ({SUGGESTIONS[kinds[0]].category})"
    if in_text:
        return "free text containing " + ", ".join(kinds)
    if name_only:
        return "by its name only; no value format confirms it"
    return None
