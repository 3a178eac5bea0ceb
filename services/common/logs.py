"""JSON logs for every service, with a last-line filter that masks anything shaped like an email or phone."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import Any

import phonenumbers
from pythonjsonlogger.json import JsonFormatter

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# A consumer's status or verification link is a credential: its token never reaches a log line (an access log, an
# error naming the path), only the route it was for.
LINK_TOKEN = re.compile(r"(/privacy/(?:status|verify)/)[^/\s?#\"'<>]+")
# Attributes every LogRecord has; anything else on a record came from `extra=` and is scrubbed too.
STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


def scrub(text: str) -> str:
    """Mask link tokens, emails, and phone numbers as libphonenumber finds them (dates, UUIDs and IPs stay)."""
    masked = EMAIL.sub("[email]", LINK_TOKEN.sub(r"\1[token]", text))
    if not any(char.isdigit() for char in masked):
        return masked
    for match in reversed(list(phonenumbers.PhoneNumberMatcher(masked, "US"))):
        masked = masked[: match.start] + "[phone]" + masked[match.end :]
    return masked


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: _scrub_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_value(item) for item in value]
    return value


class ScrubPersonalData(logging.Filter):
    """Defence in depth: code logs subject_key and request_id only; this masks anything that slipped through."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = f"{record.msg} (log arguments did not fit the format)"
        record.msg, record.args = scrub(str(message)), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        for name, value in list(vars(record).items()):
            if name not in STANDARD_ATTRIBUTES:
                setattr(record, name, _scrub_value(value))
        return True


def configure_logging(service: str, level: str = "INFO", log_file: str | None = None) -> None:
    """JSON lines to stderr, or to `log_file` instead (one destination: a process whose stderr is captured to a
    file too would otherwise write every line twice)."""
    formatter = JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
        static_fields={"service": service},
    )
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers = [logging.FileHandler(log_file)]
    root = logging.getLogger()
    root.handlers.clear()
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(ScrubPersonalData())
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
