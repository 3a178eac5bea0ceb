"""Unit tests of the last-line PI filter on logs: emails and phones masked, operational values left alone."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pythonjsonlogger.json import JsonFormatter

from services.common.logs import ScrubPersonalData, configure_logging, scrub

REQUEST_ID = "4f7d0a4e-31a4-4bb4-9a8e-0b5a2f3c9d11"
SUBJECT_KEY = "a3f1c9e07b2d4e8fa6c5b1d09e7f3a2bc4d8e6f1a0b9c7d5e3f2a1b0c9d8e7f6"


class TestEmails:
    @pytest.mark.parametrize(
        "email",
        [
            "alice@example.com",
            "Alice.Smith+ccpa@Example.CO.UK",
            "o'brien_x%y@mail-server.example.org",
            "bob-99@sub.domain.io",
        ],
    )
    def test_masked_in_a_sentence(self, email: str) -> None:
        scrubbed = scrub(f"lookup failed for {email}, retrying")
        assert scrubbed.startswith("lookup failed for ")
        assert "[email]" in scrubbed
        assert "@" not in scrubbed
        assert scrubbed.endswith(", retrying")

    def test_every_email_of_a_line(self) -> None:
        assert scrub("from a@b.com to c.d@e.org") == "from [email] to [email]"

    def test_email_inside_json(self) -> None:
        assert scrub('{"email": "carol@example.net"}') == '{"email": "[email]"}'


class TestPhones:
    @pytest.mark.parametrize(
        "phone",
        [
            "+14155550132",
            "4155550132",
            "415-555-0132",
            "415.555.0132",
            "415 555 0132",
            "+1 415-555-0132",
            "+1 (415) 555-0132",
            "+44 20 7946 0958",
            "+33 1 42 68 53 00",
        ],
    )
    def test_masked(self, phone: str) -> None:
        scrubbed = scrub(f"sms to {phone} failed")
        assert scrubbed.startswith("sms to ")
        assert scrubbed.endswith(" failed")
        assert "[phone]" in scrubbed
        assert not any(run in scrubbed for run in ("555", "7946", "4268"))

    def test_parenthesised_area_code_leaves_no_digits(self) -> None:
        scrubbed = scrub("call (415) 555-0132")
        assert "415" not in scrubbed and "0132" not in scrubbed

    def test_email_and_phone_together(self) -> None:
        assert scrub("alice@example.com / +14155550132") == "[email] / [phone]"


class TestLeftAlone:
    @pytest.mark.parametrize(
        "text",
        [
            f"request_id={REQUEST_ID}",
            f"subject_key={SUBJECT_KEY}",
            "bootstrap 127.0.0.1:9092 and postgres localhost:5432",
            "kafka:29092 partition=3 offset=123456",
            "took 1234 ms, attempt 3 of 5",
            "time 07:59:59.999999",
            "user@localhost",
        ],
    )
    def test_unchanged(self, text: str) -> None:
        assert scrub(text) == text

    # False positives of PHONE (\+?\d[\d\s().-]{8,}\d): any run of 10+ digits, dashes, dots or spaces.
    @pytest.mark.parametrize(
        "text",
        [
            "respond_by=2026-12-19T07:59:59.999999+00:00",
            "due 2026-12-18",
            "at 2026-12-19 07:59:59",
        ],
    )
    def test_iso_timestamps(self, text: str) -> None:
        assert scrub(text) == text

    def test_uuid_with_digit_tail(self) -> None:
        text = "event_id=123e4567-e89b-12d3-a456-426614174000"
        assert scrub(text) == text

    def test_subject_key_with_digit_run(self) -> None:
        text = "subject_key=2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
        assert scrub(text) == text

    def test_ip_address(self) -> None:
        text = "connect to 192.168.100.200:9092"
        assert scrub(text) == text


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(ScrubPersonalData())
    logger = logging.getLogger(f"tests.logs.{id(stream)}")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, stream
    logger.removeHandler(handler)


class TestFilter:
    def test_masks_args(self, captured: tuple[logging.Logger, io.StringIO]) -> None:
        logger, stream = captured
        logger.info("verify failed for %s (%s) on %s", "alice@example.com", "+1 415 555 0132", REQUEST_ID)
        output = stream.getvalue()
        # libphonenumber may take the opening parenthesis into the match; what matters is nothing of it is left.
        assert output.startswith("INFO verify failed for [email] ") and output.endswith(f"on {REQUEST_ID}\n")
        assert "[phone]" in output and "415" not in output and "0132" not in output

    def test_masks_mapping_args(self, captured: tuple[logging.Logger, io.StringIO]) -> None:
        logger, stream = captured
        logger.warning("bounce from %(email)s", {"email": "bob@example.org"})
        assert stream.getvalue() == "WARNING bounce from [email]\n"

    def test_masks_exception_text(self, captured: tuple[logging.Logger, io.StringIO]) -> None:
        logger, stream = captured
        try:
            raise ValueError("duplicate key (email)=(carol@example.net) phone 415-555-0132")
        except ValueError:
            logger.exception("insert failed for %s", SUBJECT_KEY)
        output = stream.getvalue()
        assert "carol@example.net" not in output and "415-555-0132" not in output
        assert "ValueError: duplicate key (email)=([email]) phone [phone]" in output
        assert "Traceback (most recent call last)" in output
        assert f"insert failed for {SUBJECT_KEY}" in output

    def test_record_is_rewritten_for_every_later_handler(self) -> None:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "to %s", ("dave@example.com",), None)
        assert ScrubPersonalData().filter(record) is True
        assert record.msg == "to [email]"
        assert record.args is None
        assert record.getMessage() == "to [email]"

    def test_exc_info_is_replaced_by_scrubbed_text(self) -> None:
        try:
            raise RuntimeError("eve@example.com")
        except RuntimeError:
            record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None, sys.exc_info())
        ScrubPersonalData().filter(record)
        assert record.exc_info is None
        assert record.exc_text is not None and "RuntimeError: [email]" in record.exc_text
        assert "eve@" not in logging.Formatter().format(record)

    def test_masks_extra_fields_in_json_output(self) -> None:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(JsonFormatter("%(message)s"))
        handler.addFilter(ScrubPersonalData())
        logger = logging.getLogger("tests.logs.extra")
        logger.addHandler(handler)
        logger.propagate = False
        try:
            logger.warning("lookup failed", extra={"identifier": "frank@example.com"})
        finally:
            logger.removeHandler(handler)
        assert "frank@example.com" not in json.loads(stream.getvalue())["identifier"]

    def test_bad_format_args_do_not_raise_into_the_caller(self, captured: tuple[logging.Logger, io.StringIO]) -> None:
        logger, _ = captured
        logger.info("%d items", "three")


def test_a_log_file_is_the_only_destination_so_a_captured_stderr_holds_no_second_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_file = tmp_path / "intake.log"
    configure_logging("intake", log_file=str(log_file))
    try:
        logging.getLogger("probe").info("one line, once")
    finally:
        logging.getLogger().handlers.clear()
    assert [json.loads(line)["message"] for line in log_file.read_text().splitlines()] == ["one line, once"]
    assert "one line, once" not in capsys.readouterr().err


class TestLinkTokens:
    TOKEN = "Zk3_q-8vT0pLx2mN9aB4cD6eF1gH5iJ7kL0mN2oP3qR"

    @pytest.mark.parametrize("route", ["status", "verify"])
    def test_a_consumer_link_token_is_redacted_and_the_route_kept(self, route: str) -> None:
        text = f"GET /privacy/{route}/{self.TOKEN}/fragment?x=1 and /privacy/{route}/{self.TOKEN}"
        assert scrub(text) == f"GET /privacy/{route}/[token]/fragment?x=1 and /privacy/{route}/[token]"

    def test_uvicorn_access_line_carries_no_token(self) -> None:
        # uvicorn's access logger formats the full path from these args (uvicorn/protocols/http/*: access_logger.info).
        args = ("127.0.0.1:50432", "GET", f"/privacy/status/{self.TOKEN}", "1.1", 200)
        record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', args, None)
        ScrubPersonalData().filter(record)
        assert record.getMessage() == '127.0.0.1:50432 - "GET /privacy/status/[token] HTTP/1.1" 200'

    def test_other_paths_are_left_alone(self) -> None:
        assert scrub(f"/v1/requests/{REQUEST_ID}") == f"/v1/requests/{REQUEST_ID}"
        assert scrub("/privacy/choices/opt-in") == "/privacy/choices/opt-in"
