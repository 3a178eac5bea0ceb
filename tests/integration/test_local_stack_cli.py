"""`ccpa` against a running local stack with nothing exported, as a new user runs it: the commands find the stack's
settings themselves (.local/stack.env, .local/secrets.json) and say so, `stack status` lists every process the
stack started, each process writes one log file, and the demo (opt-in included) ends without a traceback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devtools.localstack.mailpit import MailServer
from devtools.localstack.ports import free_ports
from tests.support import wait_for

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
PORTS = ("CCPA_INTAKE_PORT", "CCPA_AUDIT_PORT", "CCPA_DISCOVERY_PORT", "CCPA_DELETION_PORT", "CCPA_OPTOUT_PORT",
         "DEMO_MAILER_PORT", "DEMO_SHIPPER_PORT", "CCPA_REDIS_PORT", "CCPA_MAILPIT_SMTP_PORT",
         "CCPA_MAILPIT_PORT", "CCPA_CONSOLE_PORT", "DEMO_TAG_HOST_PORT", "DEMO_STOREFRONT_PORT")  # fmt: skip
USING = "using the local stack's settings from"


def bare_env(root: Path) -> dict[str, str]:
    """What a new user's shell holds: no CCPA_*, DEMO_* or KAFKA_* variable but where the stack lives."""
    kept = {name: value for name, value in os.environ.items() if not name.startswith(("CCPA_", "DEMO_", "KAFKA_"))}
    return {**kept, "CCPA_LOCAL_DIR": str(root)}


def ccpa(
    root: Path, *arguments: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", *arguments], cwd=REPO, env=env or bare_env(root),
                          capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip


@pytest.fixture(scope="module")
def stack_root(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("local-stack") / ".local"
    up_env = {**bare_env(root), **dict(zip(PORTS, map(str, free_ports(len(PORTS))), strict=True)),
              "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "CCPA_TOPIC_NAMESPACE": f"t{uuid.uuid4().hex[:8]}",
              "CCPA_DEMO_SUBJECTS": "20"}  # fmt: skip
    started = ccpa(root, "stack", "up", env=up_env, timeout=300)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield root
    finally:
        ccpa(root, "stack", "down")


def test_status_lists_every_process_the_stack_started_with_address_and_state(stack_root: Path) -> None:
    result = ccpa(stack_root, "stack", "status")
    assert result.returncode == 0, result.stderr
    states = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert set(states) == {"kafka", "redis", "mailpit", "provider-mailer", "provider-shipper", "intake", "audit",
                           "discovery", "deletion", "optout", "console", "downstream-adtech-sync", "demo-tag-host",
                           "demo-storefront"}  # fmt: skip
    assert states["kafka"].startswith("not started by the stack: it uses 127.0.0.1:")
    assert states["redis"].startswith("running (pid ") and "redis://127.0.0.1:" in states["redis"]
    assert all(states[name].startswith("running (pid ") for name in states if name not in ("kafka", "redis"))
    assert "http://127.0.0.1:" in states["intake"] and "no HTTP port" in states["downstream-adtech-sync"]
    assert "http://127.0.0.1:" in states["console"] and "http://127.0.0.1:" in states["demo-storefront"]
    assert "mails at http://127.0.0.1:" in states["mailpit"]


def test_each_process_writes_one_log_file(stack_root: Path) -> None:
    processes = ("provider-mailer", "provider-shipper", "intake", "audit", "discovery", "deletion", "optout",
                 "console", "downstream-adtech-sync", "demo-tag-host", "demo-storefront")  # fmt: skip
    logs = sorted(path.name for path in (stack_root / "logs").iterdir() if path.name != "cli.log")
    assert logs == sorted(f"{name}.log" for name in processes)


@pytest.mark.parametrize(
    "arguments",
    [
        ("keys", "rewrap"),
        ("keys", "shred", "a" * 64, "--operator", "ops", "--reason", "test"),
        ("discover", "scan", "--datamap", "devtools/demo/datamap.yaml"),
        ("datamap", "check", "devtools/demo/datamap.yaml"),
    ],
    ids=["keys-rewrap", "keys-shred", "discover-scan", "datamap-check"],
)
def test_maintenance_commands_find_the_stacks_settings_with_nothing_exported(
    stack_root: Path, arguments: tuple[str, ...]
) -> None:
    result = ccpa(stack_root, *arguments)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{USING} {stack_root}/stack.env and {stack_root}/secrets.json" in result.stderr


def test_audit_rebuild_finds_the_stacks_broker_and_keys(stack_root: Path, tmp_path: Path) -> None:
    result = ccpa(stack_root, "audit", "rebuild", "--database-url", f"sqlite:///{tmp_path / 'rebuilt.db'}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert USING in result.stderr and "rebuilt the timeline from" in result.stdout


def test_the_gpc_monitor_checks_the_stacks_storefront_with_nothing_exported(stack_root: Path) -> None:
    """The README's `ccpa monitor gpc http://127.0.0.1:PORT/`: the data map's ${DEMO_*} come from the stack."""
    status = ccpa(stack_root, "stack", "status").stdout
    storefront = re.search(r"demo-storefront: running \(pid \d+\).*?(http://127\.0\.0\.1:\d+)", status)
    assert storefront is not None, status
    result = ccpa(stack_root, "monitor", "gpc", f"{storefront.group(1)}/")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok ") and USING in result.stderr


def test_a_variable_set_in_the_environment_wins_over_the_recorded_one(stack_root: Path, tmp_path: Path) -> None:
    mine = tmp_path / "my-keystore.db"
    result = ccpa(stack_root, "keys", "rewrap", env={**bare_env(stack_root), "CCPA_KEYSTORE_URL": f"sqlite:///{mine}"})
    assert result.returncode == 0, result.stderr
    assert mine.exists(), "the recorded keystore was used although the environment named another"


def test_the_demo_runs_every_request_type_opt_in_included_and_ends_without_a_traceback(stack_root: Path) -> None:
    result = ccpa(stack_root, "demo", "run", timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "opt back in to sale/sharing" in result.stdout and "nature opt_in" in result.stdout
    assert "The stack stays up for you to explore" in result.stdout and "`make down` stops it" in result.stdout
    assert "Mails sent to consumers: http://127.0.0.1:" in result.stdout
    assert_the_demo_operator_signs_in(stack_root, result.stdout)
    mails = MailServer(stack_root / "mailpit")
    acknowledged = wait_for(lambda: [m for m in mails.messages() if "we received your privacy request" in m.subject],
                            timeout=60, what="the demo's acknowledgements in the stack's Mailpit")  # fmt: skip
    assert all("/privacy/status/" in mail.text for mail in acknowledged)


def assert_the_demo_operator_signs_in(stack_root: Path, said: str) -> None:
    """The demo's closing lines name the console, its operator and the request waiting for them; the password kept
    in .local (mode 0600) signs in through the console's form."""
    found = re.search(r"The operator console: (http://127\.0\.0\.1:\d+)/  sign in as demo-operator / (\S+)", said)
    assert found, said[-2000:]
    url, password = found.groups()
    kept = stack_root / "console-demo-operator.password"
    assert kept.read_text().strip() == password and kept.stat().st_mode & 0o777 == 0o600
    waiting = re.search(r"Waiting for an operator: request ([0-9a-f-]{36}), a correction whose answer is held for "
                        r"review \(approve or deny it\), and request [0-9a-f-]{36}, a deletion", said)  # fmt: skip
    assert waiting, said[-2000:]
    with httpx.Client(base_url=url, timeout=30) as client:
        page = client.get("/login")
        token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
        assert token
        for name, value in page.cookies.items():  # Secure cookies: httpx keeps them for https only
            client.cookies.set(name, value)
        form = {"csrftoken": token.group(1), "username": "demo-operator", "password": password, "next": "/queue"}
        signed = client.post("/login", data=form)
        assert signed.status_code == 303 and signed.headers["location"] == "/queue"
        for name, value in signed.cookies.items():
            client.cookies.set(name, value)
        # the console has something to do: the held correction is in the queue, awaiting review
        queue = client.get("/queue", params={"status": "open"})  # held for review: not answered yet
    assert queue.status_code == 200 and f"/requests/{waiting.group(1)}" in queue.text
