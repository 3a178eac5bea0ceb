"""A compiled HTTP load generator for the benches: vegeta, built once from the Go module proxy into .local/cache.

A Python client costs as much CPU per request as the service it measures; on 2 cores it capped both the intake
figure and its /healthz floor. vegeta sends C closed-loop keep-alive workers (`-rate=0 -max-workers=C`), each
request with its own body, read lazily from a file of JSON targets, and stops when the file is exhausted.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

VEGETA_MODULE = "github.com/tsenart/vegeta/v12"
VEGETA_VERSION = "v12.12.0"
NO_TARGETS = "no targets to attack"
CACHE = Path(__file__).resolve().parents[1] / ".local" / "cache"


class LoadgenMissing(RuntimeError):
    """vegeta is not built and `go` is not on PATH to build it."""


@dataclass(frozen=True)
class Target:
    method: str
    url: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> str:
        target: dict[str, object] = {"method": self.method, "url": self.url}
        if self.body:
            target["body"] = base64.b64encode(self.body).decode()
        if self.headers:
            target["header"] = {name: [value] for name, value in self.headers}
        return json.dumps(target)


@dataclass(frozen=True)
class Outcome:
    """One request as vegeta saw it: status (0 for a transport error), start and latency in seconds, body."""

    status: int
    started: float
    latency: float
    body: bytes
    error: str


def vegeta() -> Path:
    """The cached vegeta binary, built with `go install` from the module proxy on first use."""
    bin_dir = CACHE / f"vegeta-{VEGETA_VERSION}"
    binary = bin_dir / "vegeta"
    if binary.is_file():
        return binary
    if shutil.which("go") is None:
        raise LoadgenMissing(f"vegeta is not in {bin_dir} and `go` is not on PATH to build {VEGETA_MODULE}")
    bin_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOBIN": str(bin_dir), "GOFLAGS": "-mod=mod"}
    subprocess.run(["go", "install", f"{VEGETA_MODULE}@{VEGETA_VERSION}"], check=True, env=env,
                   capture_output=True, text=True)  # fmt: skip
    return binary


def attack(targets: Iterable[Target], concurrency: int, timeout_s: float = 30.0) -> list[Outcome]:
    """Send every target once with `concurrency` keep-alive workers, as fast as the server answers."""
    binary = vegeta()
    with tempfile.TemporaryDirectory(prefix="ccpa-loadgen-") as scratch:
        targets_file, results_file = Path(scratch) / "targets.jsonl", Path(scratch) / "results.bin"
        targets_file.write_text("".join(target.to_json() + "\n" for target in targets))
        workers = str(max(1, concurrency))
        subprocess.run([str(binary), "attack", "-format=json", "-lazy", "-rate=0", f"-workers={workers}",
                        f"-max-workers={workers}", f"-timeout={timeout_s:.0f}s", f"-targets={targets_file}",
                        f"-output={results_file}"], check=True, capture_output=True)  # fmt: skip
        encoded = subprocess.run([str(binary), "encode", "-to=json", str(results_file)], check=True,
                                 capture_output=True, text=True).stdout  # fmt: skip
    outcomes = [parse_result(line) for line in encoded.splitlines() if line.strip()]
    # The lazy reader's end of file comes back as one last result that sent nothing.
    return [outcome for outcome in outcomes if outcome.error != NO_TARGETS]


def parse_result(line: str) -> Outcome:
    """One line of `vegeta encode -to=json`: latency in nanoseconds, body base64, timestamp RFC 3339."""
    result = json.loads(line)
    started = datetime.fromisoformat(result["timestamp"]).timestamp()
    body = base64.b64decode(result.get("body") or b"")
    return Outcome(int(result["code"]), started, result["latency"] / 1e9, body, str(result.get("error", "")))


def main() -> None:
    """`python -m devtools.loadgen`: build vegeta once, so bench runs need no network."""
    print(f"vegeta: {vegeta()}")  # noqa: T201


if __name__ == "__main__":
    main()
