"""Rewrite services/common/closure_days.json: California's closure days (the holidays library's US/CA calendar less
NOT_CLOSURE_DAYS) for the years a deadline can reach, so that the services need not import the library's
calendars. Run it after upgrading `holidays`: tests/unit/test_clocks.py fails until the table matches.

    python -m devtools.closure_days [--first 2000] [--last 2060]
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib.metadata import version

from services.common.clocks import CLOSURE_DAYS_TABLE, closure_days_from_library

FIRST_YEAR, LAST_YEAR = 2000, 2060


def table(first: int = FIRST_YEAR, last: int = LAST_YEAR) -> dict[str, object]:
    days = sorted(day for year in range(first, last + 1) for day in closure_days_from_library(year))
    return {"source": f"holidays {version('holidays')}, country US, subdivision CA, less NOT_CLOSURE_DAYS",
            "years": [first, last], "days": [day.isoformat() for day in days]}  # fmt: skip


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.closure_days", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--first", type=int, default=FIRST_YEAR)
    parser.add_argument("--last", type=int, default=LAST_YEAR)
    args = parser.parse_args(argv)
    if args.first > args.last:
        parser.error(f"--first {args.first} is after --last {args.last}")
    CLOSURE_DAYS_TABLE.write_text(json.dumps(table(args.first, args.last), indent=0) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {CLOSURE_DAYS_TABLE}, {args.first} to {args.last}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
