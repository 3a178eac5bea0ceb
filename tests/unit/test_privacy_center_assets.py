"""The privacy center's assets and words: vendored htmx unchanged, no page loading from another host, Pacific dates."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime

from services.intake.web.templating import STATIC, TEMPLATES
from services.intake.web.texts import long_date, long_datetime

HTMX_SHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"  # static/vendor/README.md


def test_the_vendored_htmx_is_the_published_file() -> None:
    digest = hashlib.sha256((STATIC / "vendor" / "htmx-2.0.11.min.js").read_bytes()).hexdigest()
    assert digest == HTMX_SHA256


def test_no_template_or_stylesheet_loads_anything_from_another_host() -> None:
    loaded = re.compile(r"""(?:src|href|action)\s*=\s*["'](?:https?:)?//|url\(\s*["']?(?:https?:)?//""", re.I)
    for path in [*TEMPLATES.glob("*.j2"), *STATIC.glob("*.css")]:
        assert not loaded.search(path.read_text()), path.name


def test_dates_are_told_in_pacific_time_in_words() -> None:
    # 02:30 UTC on March 3 is still March 2 in California.
    assert long_date(datetime(2027, 3, 3, 2, 30, tzinfo=UTC)) == "March 2, 2027"
    assert long_date(date(2027, 1, 15)) == "January 15, 2027"
    assert long_datetime(datetime(2027, 1, 15, 22, 5, tzinfo=UTC)) == "January 15, 2027 at 2:05 PM PST"
    assert long_datetime(datetime(2027, 7, 1, 7, 0, tzinfo=UTC)) == "July 1, 2027 at 12:00 AM PDT"
