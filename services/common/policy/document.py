"""A privacy policy as the check reads it: its words (HTML tags dropped, Markdown kept as text) and the
last-updated date it states, from a meta tag, a <time> element or a "Last updated: ..." line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from html.parser import HTMLParser

from dateutil import parser as dates
from markdown_it import MarkdownIt

# meta names (and properties) that state when a page was last changed
UPDATED_META = frozenset(
    {"last-updated", "last_updated", "lastupdated", "last-modified", "dcterms.modified", "article:modified_time",
     "datemodified", "revised"}
)  # fmt: skip
UPDATED_WORDS = re.compile(
    r"(last\s+(?:updated|revised|modified|reviewed)|effective\s+date|updated)\s*(?:on)?\s*[:\-\u2013\u2014]?\s*",
    re.IGNORECASE,
)
DATE_SPAN = 40  # characters after the words in which the date must stand
_SENTINELS = (datetime(1901, 1, 1), datetime(1902, 2, 2))
SKIPPED_TAGS = frozenset({"script", "style", "template", "noscript"})


@dataclass(frozen=True)
class PolicyDocument:
    text: str  # the words, whitespace collapsed
    last_updated: date | None


class _PolicyHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []
        self.stated: list[date] = []  # from meta tags and <time> elements that say "updated"
        self._skipping = 0
        self._time: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag in SKIPPED_TAGS:
            self._skipping += 1
        elif tag == "meta":
            name = (found.get("name") or found.get("property") or found.get("itemprop") or "").lower()
            if name in UPDATED_META and (stated := parse_date(found.get("content", ""))):
                self.stated.append(stated)
        elif tag == "time":
            self._time = found.get("datetime")
        elif tag in ("p", "div", "li", "br", "h1", "h2", "h3", "h4", "section", "footer", "tr"):
            self.words.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS and self._skipping:
            self._skipping -= 1
        elif tag == "time":
            self._time = None

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        says_updated = self._time is not None and UPDATED_WORDS.search(" ".join(self.words[-3:])[-60:])
        if says_updated and (stated := parse_date(self._time or "") or parse_date(data)):
            self.stated.append(stated)
        self.words.append(data)


def read_html(content: str) -> PolicyDocument:
    page = _PolicyHtml()
    page.feed(content)
    page.close()
    text = _collapsed("".join(page.words))
    return PolicyDocument(text, page.stated[0] if page.stated else stated_in_text(text))


def read_text(content: str) -> PolicyDocument:
    """Markdown or plain text, read as the HTML it renders to (so "_Last updated: ..._" is the words alone)."""
    return read_html(MarkdownIt("commonmark", {"html": False}).render(content))


def stated_in_text(text: str) -> date | None:
    """The date after the first "Last updated" (or "Effective date", "Updated") that is followed by one."""
    for match in UPDATED_WORDS.finditer(text):
        after = text[match.end() : match.end() + DATE_SPAN].split("\n", 1)[0]
        if stated := _leading_date(after):
            return stated
    return None


def parse_date(value: str) -> date | None:
    """A full date (day, month and year) in any common form, else None: a year or a month alone is no date."""
    value = value.strip()
    if not value:
        return None
    try:
        first, second = (dates.parse(value, default=sentinel) for sentinel in _SENTINELS)
    except (ValueError, OverflowError):
        return None
    if first.date() != second.date():
        return None  # some part of the date was missing, and came from the default
    return first.date()


def _leading_date(after: str) -> date | None:
    """The longest run of words at the start of `after` that reads as a full date."""
    words = re.split(r"(\s+)", after.strip())
    for end in range(min(len(words), 9), 0, -1):
        candidate = "".join(words[:end]).rstrip(".,;)")
        if stated := parse_date(candidate):
            return stated
    return None


def _collapsed(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)
