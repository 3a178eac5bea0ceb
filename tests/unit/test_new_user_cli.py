"""What a new user meets first in `ccpa`: help without bare type placeholders, failures told without a traceback,
the local stack's settings found without exporting anything, the demo waiting on what it prints, readable details,
scanner tables as plain lines when piped."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.table import Table
from typer.testing import CliRunner

from devtools.demo import scenario, showcase
from devtools.local import secrets, stackenv
from services.cli import app, cli
from services.common.serve import SERVICES
from services.discovery.scanner.cli import tab_separated

runner = CliRunner()
PLACEHOLDER = re.compile(r"<(str|int|float|path|bool|int range|float range)>|\b(TEXT|INTEGER|FLOAT|PATH|BOOLEAN)\b")


def commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, sub in getattr(command, "commands", {}).items():
        found += commands(sub, (*path, name))
    return found


@pytest.mark.parametrize("path", commands(cli()), ids=lambda path: " ".join(path) or "ccpa")
def test_no_option_in_any_help_shows_a_bare_type_placeholder(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli().main([*path, "--help"], prog_name="ccpa", standalone_mode=False) in (0, None)
    options = capsys.readouterr().out.split("Options:", 1)[-1]
    assert not PLACEHOLDER.search(options), options


def test_serve_help_lists_every_service_from_the_one_table(capsys: pytest.CaptureFixture[str]) -> None:
    cli().main(["serve", "--help"], prog_name="ccpa", standalone_mode=False)
    output = " ".join(capsys.readouterr().out.split())
    assert all(service in output for service in SERVICES) and "deletion" in output


def test_demo_run_without_a_stack_says_what_failed_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCPA_LOCAL_DIR", str(tmp_path / "nothing-here"))
    result = runner.invoke(app, ["demo", "run"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "the demo failed" in result.stderr
    assert "make up" in result.stderr and "logs:" in result.stderr


def test_demo_run_against_an_unreachable_stack_names_it_and_keeps_the_trace_in_a_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(*_args: Any) -> None:
        raise httpx.ConnectError("connection refused", request=httpx.Request("POST", "http://127.0.0.1:9/v1/requests"))

    monkeypatch.setenv("CCPA_LOCAL_DIR", str(tmp_path))
    monkeypatch.setattr("devtools.demo.generator.DemoTarget.from_manifest", lambda _path: _FakeTarget())
    monkeypatch.setattr("devtools.demo.generator.demo_env", lambda _target: {})
    monkeypatch.setattr(scenario, "run", unreachable)
    result = runner.invoke(app, ["demo", "run"])
    assert result.exit_code == 1
    assert "ConnectError talking to the stack" in result.stderr and "Traceback" not in result.output
    assert "ConnectError" in (tmp_path / "logs" / "cli.log").read_text()


class _FakeTarget:
    app_db_url = "sqlite:////nowhere/app.db"


def test_recorded_stack_settings_fill_in_only_what_the_environment_lacks(tmp_path: Path) -> None:
    stackenv.write_stack_env(tmp_path, {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "CCPA_INTAKE_PORT": "1",
                                        "HOME": "/not/recorded", "CCPA_MASTER_KEYS": "{}"})  # fmt: skip
    secrets.load_or_create(tmp_path / "secrets.json")
    assert (
        "HOME" not in (tmp_path / "stack.env").read_text()
        and "CCPA_MASTER_KEYS" not in (tmp_path / "stack.env").read_text()
    )
    environ = {"CCPA_INTAKE_PORT": "8000"}
    sources = stackenv.use_local_stack(environ, tmp_path)
    assert sources == [tmp_path / "stack.env", tmp_path / "secrets.json"]
    assert environ["CCPA_INTAKE_PORT"] == "8000", "a variable set in the environment wins"
    assert environ["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:1" and "CCPA_MASTER_KEYS" in environ
    assert (tmp_path / "stack.env").stat().st_mode & 0o077 == 0


def test_without_a_local_stack_nothing_is_filled_in_or_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    environ: dict[str, str] = {}
    assert stackenv.use_local_stack(environ, tmp_path) == [] and environ == {}
    assert capsys.readouterr().err == ""


def test_the_demo_waits_for_the_response_that_arrives_after_the_report() -> None:
    report = {"links": {"json": "http://x/r.json"}, "expires_at": "2027-01-01T00:00:00Z"}
    answers = iter([{"report": report, "response": None}, {"report": report, "response": None},
                    {"report": report, "response": {"summary": "Access report ready"}}])  # fmt: skip
    transport = httpx.MockTransport(lambda _request: httpx.Response(200, json=next(answers)))
    with httpx.Client(transport=transport, base_url="http://intake") as intake:
        status = showcase.wait_for_report(intake, "token", "request-1", timeout=10)
    assert status["response"]["summary"] == "Access report ready"


def test_demo_details_read_as_text_and_are_cut_at_a_word() -> None:
    details = {"store": "app-db", "outcome": "found", "records": 20, "categories": ["A", "B"] * 60}
    entry = {"event_type": "StoreSearched", "details": details}
    summary = scenario._summary(entry)
    assert summary.startswith("store app-db; outcome found; records 20; categories A, B, A")
    assert "[" not in summary and "'" not in summary
    assert len(summary) <= scenario.SUMMARY_WIDTH and summary.endswith(" …")
    assert scenario.readable(True) == "yes" and scenario.readable(None) == "-"


def test_a_piped_scan_table_is_tab_separated_lines() -> None:
    table = Table("store", "note", title="PI scan coverage")
    table.add_row("app-db", "[bold]two\nlines[/bold]")
    assert tab_separated(table) == "PI scan coverage\nstore\tnote\napp-db\ttwo lines"


def test_the_stack_env_is_json_free_shell_syntax(tmp_path: Path) -> None:
    path = stackenv.write_stack_env(tmp_path, {"CCPA_SYSTEMS": json.dumps(["a b"])})
    assert path.read_text() == "export CCPA_SYSTEMS='[\"a b\"]'\n"
