"""The privacy system is not a PI leak: known identifiers appear in clear on no topic, log, metric or table."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from devtools.demo.company import Customer
from devtools.local.pipeline import Pipeline, PipelineConfig
from devtools.localstack import MailServer
from services.common.topics import ALL_TOPICS, AUDIT_SNAPSHOTS, TopicNames
from tests.support import read_topic, wait_for, wait_for_entries

pytestmark = pytest.mark.integration

CANARY_EMAIL = "Leak.Canary+pi@Example.com"
CANARY_PHONE = "(415) 555-0142"
CANARY_ACCOUNT = "acct-canary-9931"
CANARY_DEVICE = "device-canary-77"
CANARY_NAME = "Zyxwv Canary"
CANARY_CORRECTION = "1 Canary Street"
CANARY_AGENT = "Canary Agency"
CANARY_FILE = "Canary-Permission-Scan-5519"  # inside an agent's uploaded permission file
NEEDLES = [
    CANARY_EMAIL,
    CANARY_EMAIL.lower(),
    "leak.canary",
    "+14155550142",
    "4155550142",
    "555-0142",
    CANARY_ACCOUNT,
    CANARY_DEVICE,
    CANARY_NAME,
    "Zyxwv",
    CANARY_CORRECTION,
    "Canary Street",
    CANARY_FILE,
]
# CANARY_AGENT is not a needle: the authorised agent's own name is §7101 evidence, on the event and the record by
# design (docs/records.md). It is no consumer identifier; it still stays out of logs and metrics (checked below).


def find_needles(haystack: bytes | str) -> list[str]:
    text = haystack.decode("utf-8", errors="replace") if isinstance(haystack, bytes) else haystack
    folded = text.lower()
    return [needle for needle in NEEDLES if needle.lower() in folded]


def test_the_scanner_finds_what_it_looks_for() -> None:
    assert find_needles(b'{"email": "leak.canary+pi@example.com"}') == [
        CANARY_EMAIL,
        CANARY_EMAIL.lower(),
        "leak.canary",
    ]
    assert find_needles("call 415-555-0142") == ["555-0142"]


def submit_canaries(client: httpx.Client, pipeline: Pipeline, known: Customer) -> list[str]:
    identifiers = {
        "email": CANARY_EMAIL,
        "phone": CANARY_PHONE,
        "account_id": CANARY_ACCOUNT,
        "device_id": CANARY_DEVICE,
    }
    bodies = [
        (
            {
                "type": "delete",
                "identifiers": identifiers,
                "verification": {"data_points": {"name": CANARY_NAME, "postal_code": "94103"}},
            },
            {},
        ),
        (
            {
                "type": "correct",
                "identifiers": {"email": known.email},
                "verification": {"data_points": {"name": known.full_name, "postal_code": known.postal_code}},
                "corrections": {"street": CANARY_CORRECTION, "name": CANARY_NAME},
            },
            {},
        ),
        ({"type": "opt_out", "identifiers": identifiers}, {"Sec-GPC": "1"}),
        (
            {
                "type": "limit",
                "identifiers": {"email": CANARY_EMAIL},
                "authorized_agent": {"name": CANARY_AGENT, "signed_permission": True},
            },
            {},
        ),
        (
            {
                "type": "know_specific",
                "identifiers": {"phone": CANARY_PHONE},
                "verification": {"data_points": {"name": CANARY_NAME}, "signed_declaration": True},
            },
            {},
        ),
    ]
    ids = []
    for body, headers in bodies:
        response = client.post(f"{pipeline.intake.url}/v1/requests", json=body, headers=headers)
        assert response.status_code == 202, response.text
        ids.append(response.json()["request_id"])
    invalid = client.post(
        f"{pipeline.intake.url}/v1/requests",
        json={"type": "delete", "identifiers": {"email": "Zyxwv Canary at example"}},
    )
    assert invalid.status_code == 422 and not find_needles(invalid.text)
    return ids


def submit_canary_forms(client: httpx.Client, pipeline: Pipeline, mail_server: MailServer) -> tuple[list[str], str]:
    """Through the privacy center: a delete form confirmed by its mailed code (and its status page read), an agent's
    delete left pending (its permission file stored) and an agent's opt-out; the codes sent (to look for in the
    pending forms' table) and the status link's token (to look for in the logs)."""
    center = pipeline.intake.url

    def post(path: str, fields: dict[str, str], files: dict[str, tuple[str, bytes, str]] | None = None) -> str:
        token = re.search(r'name="csrftoken" value="([^"]+)"', client.get(f"{center}{path}").text)
        assert token is not None
        sent = client.post(f"{center}{path}", data={"csrftoken": token.group(1), **fields}, files=files)
        assert sent.status_code == 303 and not find_needles(sent.text), sent.text
        return sent.headers["location"]

    person = {"email": CANARY_EMAIL, "phone": CANARY_PHONE, "name": CANARY_NAME, "postal_code": "94103"}
    verify = post("/privacy/requests/delete", person)
    code = wait_for(lambda: codes_mailed(mail_server), what="code")[0]
    page = client.get(f"{center}{verify}").text
    token = re.search(r'name="csrftoken" value="([^"]+)"', page)
    assert token is not None and not find_needles(page), page[-1500:]
    done = client.post(f"{center}{verify}", data={"csrftoken": token.group(1), "code": code})
    assert done.status_code == 303 and done.headers["location"].startswith("/privacy/status/")
    status_page = client.get(f"{center}{done.headers['location']}")
    assert status_page.status_code == 200 and not find_needles(status_page.text)
    permission = {"permission": ("permission.pdf", f"%PDF-1.4 {CANARY_FILE}".encode(), "application/pdf")}
    post("/privacy/agent/delete", {**person, "agent_name": CANARY_AGENT}, permission)
    post("/privacy/agent/opt_out", {"email": CANARY_EMAIL, "agent_name": CANARY_AGENT}, permission)
    return codes_mailed(mail_server), done.headers["location"].rsplit("/", 1)[-1]


def codes_mailed(mail_server: MailServer) -> list[str]:
    """The codes mailed to the canary (newest first); its other mails are the notices."""
    mails = mail_server.messages(to=CANARY_EMAIL.lower())
    return [mail.subject[-6:] for mail in mails if mail.subject.startswith("Your code")]


def dump_database(url: str) -> tuple[int, str]:
    engine = sa.create_engine(url)
    try:
        tables = sa.inspect(engine).get_table_names()
        with engine.connect() as conn:
            rows = [repr(tuple(row)) for table in tables for row in conn.execute(sa.text(f'SELECT * FROM "{table}"'))]
    finally:
        engine.dispose()
    return len(tables), "\n".join(rows)


def test_known_identifiers_appear_in_clear_nowhere(
    optout_pipeline_config: PipelineConfig, demo_customers: list[Customer], mail_server: MailServer
) -> None:
    # DEBUG logging everywhere: the widest net for a leak through a log line. The opt-out service and the
    # downstream subscriber run too: optout opens identifiers to set flags in the systems of record. Intake e-mails
    # the consumers (mail_server): the notices table and the NoticeSent events are scanned with the rest, and so are
    # the privacy center's forms (their pending submissions, codes and agents' files) and status pages.
    config = dataclasses.replace(optout_pipeline_config, extra_env={**optout_pipeline_config.extra_env,
                                                                    "CCPA_LOG_LEVEL": "DEBUG",
                                                                    "CCPA_AUDIT_SNAPSHOT_SECONDS": "0.5"})  # fmt: skip
    pipeline = Pipeline(config).start()
    try:
        with httpx.Client(timeout=10) as client:
            codes, status_token = submit_canary_forms(client, pipeline, mail_server)
            ids = submit_canaries(client, pipeline, demo_customers[45])
            for request_id in ids:
                wait_for_entries(client, pipeline.audit.url, request_id, pipeline.auth, ["RequestSubmitted"])
            for request_id in ids[2:4]:  # the opt-out and the limit: applied, propagated and acknowledged
                wait_for_entries(client, pipeline.audit.url, request_id, pipeline.auth, ["OptOutAcknowledged"])
                status = client.get(f"{pipeline.intake.url}/v1/requests/{request_id}", headers=pipeline.auth)
                timeline = client.get(f"{pipeline.audit.url}/v1/requests/{request_id}/timeline", headers=pipeline.auth)
                assert find_needles(status.text) == [] and find_needles(timeline.text) == []
            # The denied delete's answer, the opt-out's and the limit's acknowledgement and answer, by e-mail.
            for request_id, notices in ((ids[0], 1), (ids[2], 2), (ids[3], 2)):
                mailed = wait_for_entries(client, pipeline.audit.url, request_id, pipeline.auth,
                                          ["NoticeSent"] * notices, timeout=60)  # fmt: skip
                assert find_needles(str(mailed)) == []
            assert wait_for(lambda: len(mail_server.messages(to=CANARY_EMAIL.lower())) >= 5, what="the canary's mails")
            wait_for(lambda: snapshots_of(config, ids), timeout=60, what="audit's snapshot of every request")
            metrics = "".join(
                client.get(f"{service.url}/metrics", headers=pipeline.auth).text for service in pipeline.services
            )
    finally:
        pipeline.stop()

    names = TopicNames(config.topic_namespace)
    messages = [m for spec in ALL_TOPICS for m in read_topic(config.bootstrap_servers, names(spec))]
    assert len(messages) >= len(ids) + 1, "the requests and the GPC consent change are on the topics"
    for message in messages:
        parts = [message.key() or b"", message.value() or b""] + [v for _, v in message.headers() or []]
        assert find_needles(b"\n".join(parts)) == [], f"PI on {message.topic()}"

    logs = list(Path(config.log_dir).glob("*.log"))
    assert logs and sum(path.stat().st_size for path in logs) > 0
    for path in logs:
        assert find_needles(path.read_bytes()) == [], f"PI in {path.name}"
        assert CANARY_AGENT.lower() not in path.read_text(errors="replace").lower(), f"agent in {path.name}"
        assert status_token not in path.read_text(errors="replace"), f"a status link's token in {path.name}"
    assert "ccpa_requests_accepted_total" in metrics and find_needles(metrics) == []
    assert CANARY_AGENT not in metrics

    for request_id in ids:  # the proof bundles audit exports for an outside party (docs/audit-proof.md)
        command = ["audit", "proof", request_id, "--database-url", config.audit_db_url]
        bundle = subprocess.run([sys.executable, "-m", "services.cli", *command], env=pipeline.env,
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        assert bundle.returncode == 0 and '"checkpoint"' in bundle.stdout, bundle.stderr
        assert find_needles(bundle.stdout + bundle.stderr) == [], "PI in a proof bundle"

    for url in (config.intake_db_url, config.audit_db_url, config.keystore_url, config.optout_db_url or ""):
        tables, dump = dump_database(url)
        assert tables >= 1 and dump
        assert find_needles(dump) == [], f"PI in the database {url.rsplit('/', 1)[-1]}"
    engine = sa.create_engine(config.intake_db_url)
    try:
        with engine.connect() as conn:
            pending = [repr(tuple(row)) for row in conn.execute(sa.text("SELECT * FROM pending_submissions"))]
            files = [repr(tuple(row)) for row in conn.execute(sa.text("SELECT * FROM agent_permissions"))]
    finally:
        engine.dispose()
    assert len(pending) == 2 and len(files) == 2 and len(codes) == 2
    assert not any(code in row for code in codes for row in pending), "a code in clear in pending_submissions"
    assert not any("%PDF" in row for row in files), "a permission file in clear"


def snapshots_of(config: PipelineConfig, request_ids: list[str]) -> bool | None:
    """Audit's snapshot topic holds every request (the scan of every topic above then covers it too)."""
    topic = TopicNames(config.topic_namespace)(AUDIT_SNAPSHOTS)
    keys = {message.key() for message in read_topic(config.bootstrap_servers, topic)}
    return {f"request:{request_id}".encode() for request_id in request_ids} <= keys or None


def test_the_records_and_metrics_hold_no_identifier_in_clear(
    pipeline: Pipeline, demo_customers: list[Customer]
) -> None:
    audit, auth = pipeline.audit.url, pipeline.auth
    with httpx.Client(timeout=10) as client:
        ids = submit_canaries(client, pipeline, demo_customers[46])
        for request_id in ids:
            wait_for_entries(client, audit, request_id, auth, ["RequestSubmitted"])
        pages, link = [], f"{audit}/v1/records?page_size=2"
        while link:
            pages.append(client.get(link, headers=auth))
            link = pages[-1].json()["next"]
        year = pages[0].json()["items"][0]["received_on"][:4]
        metrics = client.get(f"{audit}/v1/metrics/7102?year={year}", headers=auth)
    assert sum(len(page.json()["items"]) for page in pages) == len(ids) and metrics.status_code == 200
    exports = [
        ["records", "--from", f"{year}-01-01", "--to", f"{year}-12-31", "--format", kind] for kind in ("json", "csv")
    ]
    exports += [["metrics", "--year", year, "--format", kind] for kind in ("json", "csv", "html", "table")]
    outputs = []
    for export in exports:
        command = [
            sys.executable,
            "-m",
            "services.cli",
            "audit",
            *export,
            "--database-url",
            pipeline.config.audit_db_url,
        ]
        done = subprocess.run(command, env=pipeline.env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout + done.stderr)
    for text in [page.text for page in pages] + [metrics.text] + outputs:
        assert find_needles(text) == [], "PI in a §7101 record or the §7102 figures"
    assert CANARY_AGENT in outputs[0], "the agent's name is the record's evidence"


def test_the_consent_history_endpoint_shows_no_identifier(pipeline: Pipeline) -> None:
    from urllib.parse import quote

    from services.common.settings import decode_key
    from services.optout.sdk import ConsentEvents

    secret = decode_key(pipeline.secrets["CCPA_SUBJECT_KEY_SECRET"], "CCPA_SUBJECT_KEY_SECRET")
    events = ConsentEvents({"bootstrap.servers": pipeline.config.bootstrap_servers}, secret, "web-shop",
                           pipeline.config.topic_namespace)  # fmt: skip
    try:
        subject_key = events.gpc("email", CANARY_EMAIL).subject_key
    finally:
        events.close()
    url = f"{pipeline.audit.url}/v1/subjects/{{}}/consent"
    with httpx.Client(timeout=10) as client:
        body = {"type": "opt_out", "identifiers": {"email": CANARY_EMAIL, "phone": CANARY_PHONE}}
        assert client.post(f"{pipeline.intake.url}/v1/requests", json=body, headers={"Sec-GPC": "1"}).is_success

        def both() -> str | None:
            response = client.get(url.format(subject_key), headers=pipeline.auth)
            return response.text if response.status_code == 200 and len(response.json()["changes"]) == 2 else None

        history = wait_for(both, what="the canary's consent changes on audit")
        malformed = client.get(url.format(quote(CANARY_EMAIL)), headers=pipeline.auth)
    assert find_needles(history) == []
    assert malformed.status_code == 422 and find_needles(malformed.text) == []
