"""`python -m bench.privacy_center`: the privacy center's opt-out form beside the JSON API's POST /v1/requests, for
the same opt-out, against a real intake (with audit and optout, on Kafka and PostgreSQL).

Each sample is a new browser (no cookies, one keep-alive connection for the run): GET /privacy/choices (the page,
its CSRF cookie and token, this browser's state from optout) then POST the opt-out form (the confirmation page);
the POST alone is timed too. The JSON API's sample POSTs the same opt-out for a new device. Samples alternate, one
at a time, so drift in the machine's load hits both alike; every answer is checked (200 page / 202).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import uuid
from dataclasses import dataclass, field

import httpx
from rich.console import Console
from rich.table import Table

from bench import infra
from bench.report import fmt
from bench.stats import Summary, summarise

RESULTS = infra.REPO_ROOT / ".local" / "bench" / "privacy_center.json"
CSRF = re.compile(r'name="csrftoken" value="([^"]+)"')
CONFIRMED = "You have opted out of the sale and sharing of your personal information"


@dataclass
class Samples:
    """Latencies (s) of each way to opt out."""

    form: list[float] = field(default_factory=list)  # GET the page + POST the form
    form_post: list[float] = field(default_factory=list)  # the POST alone
    api: list[float] = field(default_factory=list)  # POST /v1/requests


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.privacy_center", description=__doc__)
    parser.add_argument("--samples", type=int, default=200, help="opt-outs each way (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed opt-outs each way first (default 20)")
    return parser.parse_args(argv)


def form_opt_out(browser: httpx.Client, samples: Samples | None) -> None:
    browser.cookies.clear()  # a new browser: no CSRF cookie, no device id yet
    started = time.perf_counter()
    page = browser.get("/privacy/choices")
    page.raise_for_status()
    match = CSRF.search(page.text)
    assert match is not None, "the choices page carries no CSRF token"
    posted = time.perf_counter()
    done = browser.post("/privacy/choices/opt-out", data={"csrftoken": match.group(1), "email": ""})
    ended = time.perf_counter()
    assert done.status_code == 200 and CONFIRMED in done.text, f"the opt-out form answered {done.status_code}"
    if samples is not None:
        samples.form.append(ended - started)
        samples.form_post.append(ended - posted)


def api_opt_out(client: httpx.Client, samples: Samples | None) -> None:
    body = {"type": "opt_out", "channel": "web_form", "identifiers": {"device_id": f"bench-{uuid.uuid4().hex}"}}
    started = time.perf_counter()
    response = client.post("/v1/requests", json=body)
    ended = time.perf_counter()
    assert response.status_code == 202, f"POST /v1/requests answered {response.status_code}"
    if samples is not None:
        samples.api.append(ended - started)


def measure(intake_url: str, count: int, warmup: int) -> Samples:
    samples = Samples()
    with httpx.Client(base_url=intake_url, timeout=30) as browser, httpx.Client(base_url=intake_url,
                                                                                 timeout=30) as api:  # fmt: skip
        for number in range(warmup + count):
            timed = samples if number >= warmup else None
            form_opt_out(browser, timed)
            api_opt_out(api, timed)
    return samples


def run(args: argparse.Namespace, console: Console) -> dict[str, Summary]:
    with infra.infrastructure() as stack:
        config = infra.pipeline_config(stack, customers=10)
        with infra.running_pipeline(config) as pipeline:
            console.log(f"pipeline up: intake {pipeline.intake.url}; {args.samples} opt-outs each way")
            samples = measure(pipeline.intake.url, args.samples, args.warmup)
    figures = {
        "privacy center: GET /privacy/choices + POST the opt-out form": summarise(samples.form),
        "privacy center: POST the opt-out form alone": summarise(samples.form_post),
        "JSON API: POST /v1/requests (the same opt-out)": summarise(samples.api),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({name: summary.as_dict() for name, summary in figures.items()}, indent=2) + "\n")
    return figures


def render(figures: dict[str, Summary], console: Console) -> None:
    table = Table(title="Privacy center form submit beside the JSON API (one client, sequential)",
                  title_justify="left")  # fmt: skip
    for column in ("figure", "samples", "p50", "p99", "mean"):
        table.add_column(column)
    for name, summary in figures.items():
        table.add_row(name, str(summary.count), *(fmt("latency", value) for value in
                                                   (summary.p50, summary.p99, summary.mean)))  # fmt: skip
    console.print(table)
    console.print(f"[bold]json[/]: {RESULTS}")


def main(argv: list[str]) -> int:
    args = parse(argv)
    return infra.console_main(lambda console: render(run(args, console), console), "processes, PostgreSQL and Kafka")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
