"""The GPC monitor's checks, pure: the requests a page made and the words it showed in, failures out. The sale and
sharing browser tags come from the data map's flows (their `tag` URL patterns)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from services.common.datamap.flows import TagSpec
from services.common.datamap.model import DataMap
from services.common.flows.vocabulary import OPT_OUT_RELATIONS, Channel

HONOURED = "Opt-Out Request Honored"  # §7025(c)(6)


@dataclass(frozen=True)
class Visit:
    """What the browser saw: every request leaving the page, and the text of the page (and of the look-up page)."""

    requests: tuple[str, ...]
    text: str
    lookup_text: str | None = None


@dataclass(frozen=True)
class Leak:
    flow: str
    url: str


@dataclass(frozen=True)
class Verdict:
    leaks: tuple[Leak, ...]
    honoured: bool
    failures: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.failures


def opt_out_tags(datamap: DataMap) -> dict[str, TagSpec]:
    """The browser tags the opt-out stops (sale and sharing flows), by flow name."""
    return {
        flow.name: flow.tag
        for flow in datamap.flows
        if flow.channel is Channel.BROWSER_TAG and flow.relation in OPT_OUT_RELATIONS and flow.tag is not None
    }


def leaks(requests: Iterable[str], tags: dict[str, TagSpec]) -> list[Leak]:
    """Each request that belongs to a sale or sharing tag."""
    return [Leak(name, url) for url in requests for name, tag in tags.items() if tag.matches(url)]


def judge(visit: Visit, tags: dict[str, TagSpec]) -> Verdict:
    """GPC held when no sale/sharing tag request left the page and the page (or the look-up) says it was honoured."""
    found = leaks(visit.requests, tags)
    honoured = HONOURED.lower() in (visit.lookup_text if visit.lookup_text is not None else visit.text).lower()
    failures = [f"with GPC on, the page loaded the {leak.flow} tag (a sale/sharing flow): {_origin_path(leak.url)}"
                for leak in _first_per_flow(found)]  # fmt: skip
    if not honoured:
        where = "the look-up page" if visit.lookup_text is not None else "the page"
        failures.append(f'{where} does not say "{HONOURED}" with GPC on (§7025(c)(6))')
    return Verdict(tuple(found), honoured, tuple(failures))


def _first_per_flow(found: Sequence[Leak]) -> list[Leak]:
    seen: dict[str, Leak] = {}
    for leak in found:
        seen.setdefault(leak.flow, leak)
    return list(seen.values())


def _origin_path(url: str) -> str:
    """The URL without its query: a tag's parameters may carry identifiers."""
    return url.split("?", 1)[0].split("#", 1)[0]
