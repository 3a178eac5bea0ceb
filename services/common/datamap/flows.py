"""The data-flow registry of the data map: every way personal information leaves the business, to whom, under which
relation, by which channel, for which purpose, with which contract, and the notices that must come first.

```yaml
notices: {privacy_policy: https://shop.example/privacy, opt_out_link: https://shop.example/privacy/choices}
recipients:
  - name: brightlist
    role: third_party
    category: co-marketing partner
    contract: {signed_on: 2025-03-01, reference: MSA-118, clauses: [limited_purposes, ccpa_compliance, ...]}
flows:
  - name: coop-export
    recipient: brightlist
    relation: sale
    channel: server_export
    purpose: joint promotions
    fields: [marketing-db.subscribers.email, marketing-db.subscribers.zip]
    honours_opt_out: true
    notice: https://shop.example/privacy#sale
```
Checked by `check_flows` (called by the loader); decided on by `services/common/flows`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Literal

from pydantic import Field as PydanticField
from pydantic import model_validator

from services.common.datamap.base import Strict
from services.common.flows.vocabulary import (
    ALL_CLAUSES,
    CONTRACTED_RELATIONS,
    OPT_OUT_RELATIONS,
    PERMITTED_PURPOSES,
    ROLE_OF_RELATION,
    Channel,
    Relation,
    required_clauses,
)
from services.common.subject_types import SubjectType

if TYPE_CHECKING:
    from services.common.datamap.model import DataMap, Field

SUBJECT_TYPE_NAMES = tuple(kind.value for kind in SubjectType)


class Contract(Strict):
    """The written contract on file with a recipient (§7051 service provider or contractor, §7053 third party)."""

    signed_on: date
    reference: str | None = PydanticField(default=None, description="where the signed contract is kept")
    clauses: tuple[str, ...] = PydanticField(description="the required terms it contains, by code")

    @model_validator(mode="after")
    def _known(self) -> Contract:
        unknown = [clause for clause in self.clauses if clause not in ALL_CLAUSES]
        if unknown:
            raise ValueError(f"unknown contract clause(s) {', '.join(map(repr, unknown))}; expected: "
                             + ", ".join(sorted(ALL_CLAUSES)))  # fmt: skip
        return self

    def missing(self, role: str) -> list[str]:
        """The clauses a contract with a recipient of this role needs and this one lacks."""
        return [clause for clause in required_clauses(role) if clause not in self.clauses]


class Notices(Strict):
    """Where the business gives the notices a flow depends on (§7010-§7013)."""

    privacy_policy: str | None = PydanticField(default=None, description="URL of the privacy policy")
    opt_out_link: str | None = PydanticField(
        default=None, description="URL of 'Do Not Sell or Share My Personal Information' / 'Your Privacy Choices'"
    )
    limit_link: str | None = PydanticField(
        default=None, description="URL of 'Limit the Use of My Sensitive Personal Information', if offered apart"
    )


class TagSpec(Strict):
    """A browser tag: the script a page would load and the requests it makes (for the tag gate and the monitor)."""

    script: str = PydanticField(description="URL of the tag's script or pixel")
    requests: tuple[str, ...] = PydanticField(
        default=(), description="URL patterns (shell globs) of the requests the tag sends, besides its script"
    )

    def matches(self, url: str) -> bool:
        """Whether a request the page made belongs to this tag."""
        return url == self.script or url.startswith(self.script.split("?")[0]) or any(
            fnmatchcase(url, pattern) for pattern in self.requests)  # fmt: skip


class Flow(Strict):
    """One way personal information leaves the business."""

    name: str = PydanticField(pattern=r"^[a-z][a-z0-9_\-]*$")
    description: str | None = None
    recipient: str
    relation: Relation
    channel: Channel
    purpose: str = PydanticField(description="the business or commercial purpose, as the privacy policy names it")
    permitted_purpose: str | None = PydanticField(
        default=None, description="§7027(m) code: the sensitive PI it carries is used only for this permitted purpose"
    )
    fields: tuple[str, ...] = PydanticField(default=(), description="store.collection.field it carries")
    categories: tuple[Literal["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L"], ...] = PydanticField(
        default=(), description="CCPA categories it carries besides those of its fields (a tag's browsing activity)"
    )
    sensitive: tuple[str, ...] = PydanticField(
        default=(), description="sensitive sub-categories it carries besides those of its fields"
    )
    subject_types: tuple[Literal["consumer", "employee", "job_applicant", "b2b_contact"], ...] = ("consumer",)
    honours_opt_out: bool = PydanticField(
        default=False, description="sale/sharing: gated by the decision library on the consumer's opt-out"
    )
    notice: str | None = PydanticField(default=None, description="where the notice at collection discloses it")
    tag: TagSpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Flow:
        if self.permitted_purpose is not None and self.permitted_purpose not in PERMITTED_PURPOSES:
            raise ValueError(f"unknown permitted_purpose {self.permitted_purpose!r}; expected one of the §7027(m) "
                             "purposes: " + ", ".join(PERMITTED_PURPOSES))  # fmt: skip
        if (self.channel is Channel.BROWSER_TAG) != (self.tag is not None):
            raise ValueError("a browser_tag flow needs `tag` (its script and requests), and only such a flow has one")
        return self

    @property
    def needs_opt_out_gate(self) -> bool:
        return self.relation in OPT_OUT_RELATIONS


def field_at(datamap: DataMap, path: str) -> Field | None:
    """The field a flow's `store.collection.field` names, or None."""
    parts = path.split(".")
    if len(parts) != 3:
        return None
    store = datamap.store(parts[0])
    collection = store.collection(parts[1]) if store else None
    return collection.field(parts[2]) if collection else None


def flow_fields(datamap: DataMap, flow: Flow) -> list[Field]:
    """The data map fields a flow carries (those its `fields` name and that exist)."""
    return [field for path in flow.fields if (field := field_at(datamap, path)) is not None]


def carried_sensitive(datamap: DataMap, flow: Flow) -> frozenset[str]:
    """The sensitive sub-categories a flow carries: its own and those of its fields."""
    from_fields = {field.sensitive for field in flow_fields(datamap, flow) if field.sensitive}
    return frozenset(flow.sensitive) | frozenset(from_fields)


def check_flows(datamap: DataMap) -> Iterator[str]:
    """Every flow's recipient, relation, contract, notices and fields; the refusals say why and what to add."""
    seen: set[str] = set()
    for flow in datamap.flows:
        at = f"flows[{flow.name}]"
        if flow.name in seen:
            yield f"flows: {flow.name!r} appears more than once"
        seen.add(flow.name)
        yield from _check_fields(datamap, flow, at)
        recipient = datamap.recipient(flow.recipient)
        if recipient is None:
            yield f"{at}.recipient: no recipient named {flow.recipient!r} in `recipients`"
            continue
        role = ROLE_OF_RELATION[flow.relation]
        if recipient.role != role:
            yield (f"{at}.relation: a {flow.relation.value} flow goes to a {role}, but recipient "
                   f"{recipient.name!r} is a {recipient.role}")  # fmt: skip
        if flow.relation in OPT_OUT_RELATIONS:
            yield from _check_opt_out(datamap, flow, at)
        if recipient.contract is None:
            where = f"recipients[{recipient.name}].contract"
            if flow.relation in CONTRACTED_RELATIONS:
                yield (f"{at}: recipient {recipient.name!r} has no contract on file; a {flow.relation.value} "
                       f"needs a written contract with the terms of §7051 ({where})")  # fmt: skip
            elif flow.relation in OPT_OUT_RELATIONS:
                yield (f"{at}: recipient {recipient.name!r} has no contract on file; personal information is "
                       f"sold or shared only under a contract with the terms of §7053 ({where})")  # fmt: skip
        else:
            missing = recipient.contract.missing(recipient.role)
            if missing:
                yield (f"{at}: the contract with {recipient.name!r} lacks the required clause(s) "
                       f"{', '.join(missing)} (§{'7051' if recipient.role != 'third_party' else '7053'})")  # fmt: skip
        limited = carried_sensitive(datamap, flow)
        if limited and flow.relation in OPT_OUT_RELATIONS and flow.permitted_purpose is not None:
            yield (f"{at}.permitted_purpose: a {flow.relation.value} of sensitive personal information is "
                   "not a §7027(m) permitted purpose; remove it (the consumer's limit then stops it)")  # fmt: skip


def _check_opt_out(datamap: DataMap, flow: Flow, at: str) -> Iterator[str]:
    if not flow.honours_opt_out:
        yield (f"{at}: a {flow.relation.value} flow must honour the consumer's opt-out (§1798.120): set "
               "`honours_opt_out: true` and send it through the decision library (docs/flows.md)")  # fmt: skip
    if flow.notice is None:
        yield (f"{at}.notice: a {flow.relation.value} flow needs the notice at collection that discloses it "
               "(§7012(e)(1)), a URL of the privacy policy's section")  # fmt: skip
    if datamap.notices is None or datamap.notices.opt_out_link is None:
        yield (f"{at}: personal information is sold or shared, so the data map needs `notices.opt_out_link`, the "
               "'Do Not Sell or Share My Personal Information' link (§7013)")  # fmt: skip


def _check_fields(datamap: DataMap, flow: Flow, at: str) -> Iterator[str]:
    for path in flow.fields:
        if len(path.split(".")) != 3:
            yield f"{at}.fields: {path!r} is not store.collection.field"
            continue
        field = field_at(datamap, path)
        if field is None:
            yield f"{at}.fields: {path!r} names no field of the data map"
        elif field.category is None:
            yield f"{at}.fields: {path!r} is not personal information (no `category`); a flow lists what it discloses"
    if not flow.fields and not flow.categories:
        yield f"{at}: name what it carries: `fields` (store.collection.field) or `categories`"
