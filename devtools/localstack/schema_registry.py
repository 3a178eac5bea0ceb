"""A Confluent-compatible Schema Registry on loopback: rivven-schema, built once per machine from crates.io with
cargo (its compatibility check patched for logical types, see LOGICAL_TYPES), run by PID with in-memory storage
(each start is an empty registry, BACKWARD compatibility by default).

Why this one: Karapace is not published on PyPI, and Apicurio Registry's modules (apicurio-registry-app's
schema-util-provider and common-app-components) are not all served by Maven Central here, so neither can be built
from a registry package. rivven-schema serves the Confluent REST API (subjects, versions, ids, config, compatibility)
that confluent-kafka's SchemaRegistryClient speaks, and checks Avro compatibility itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import httpx

from devtools.localstack.kafka_jars import default_cache_dir
from devtools.localstack.ports import LOOPBACK, LocalStackError, PidServer, free_port, launch

RIVVEN_CRATE = "rivven-schema"
RIVVEN_VERSION = "0.0.22"
# The server and Avro only: JSON Schema and Protobuf support would double the build for formats we do not use.
RIVVEN_FEATURES = "server,avro,cli"
_BUILD_TIMEOUT_S = 3600
# rivven-schema 0.0.22's Avro compatibility check has no case for logical types or named references, so it refused
# every change to a schema with a uuid or timestamp field ("Incompatible types: writer=Uuid, reader=Uuid"), a
# compatible one included. Each case below resolves as the Avro specification says: a logical type against the same
# one or its underlying type, a reference against a reference of the same name. Inserted before its catch-all.
LOGICAL_TYPES_ANCHOR = "        // Incompatible types\n        (w, r) => Err(format!("
LOGICAL_TYPES = """        // Added by the ccpa project (devtools/localstack/schema_registry.py).
        (Schema::Uuid, Schema::Uuid | Schema::String) | (Schema::String, Schema::Uuid) => Ok(()),
        (Schema::Date, Schema::Date | Schema::Int) | (Schema::Int, Schema::Date) => Ok(()),
        (Schema::TimeMillis, Schema::TimeMillis | Schema::Int) | (Schema::Int, Schema::TimeMillis) => Ok(()),
        (Schema::TimeMicros, Schema::TimeMicros | Schema::Long) | (Schema::Long, Schema::TimeMicros) => Ok(()),
        (Schema::TimestampMillis, Schema::TimestampMillis | Schema::Long) => Ok(()),
        (Schema::TimestampMicros, Schema::TimestampMicros | Schema::Long) => Ok(()),
        (Schema::TimestampNanos, Schema::TimestampNanos | Schema::Long) => Ok(()),
        (Schema::Long, Schema::TimestampMillis | Schema::TimestampMicros | Schema::TimestampNanos) => Ok(()),
        (Schema::Ref { name: w }, Schema::Ref { name: r }) if w == r => Ok(()),
"""


def registry_binary(cache_dir: Path | None = None) -> Path:
    """Where the built server lives: <cache>/rivven-schema-<version>/bin/rivven-schema."""
    return (cache_dir or default_cache_dir()) / f"{RIVVEN_CRATE}-{RIVVEN_VERSION}" / "bin" / RIVVEN_CRATE


def build_registry(cache_dir: Path | None = None) -> Path:
    """Build the crate at its pinned version with its own Cargo.lock (--locked) into the cache, once (ten minutes or
    so on two cores): its source fetched by cargo from crates.io, patched (LOGICAL_TYPES below), then installed."""
    binary = registry_binary(cache_dir)
    if binary.exists():
        return binary
    cargo = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
    if not Path(cargo).exists():
        raise LocalStackError("`cargo` not found: the schema registry is built from crates.io (install rustup/cargo)")
    binary.parent.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rivven-build-", dir=binary.parent.parent.parent) as scratch:
        source = _patched_source(cargo, Path(scratch))
        command = [
            cargo, "install", "--path", str(source), "--locked", "--no-default-features",
            "--features", RIVVEN_FEATURES, "--root", str(binary.parent.parent),
        ]  # fmt: skip
        _run(command, Path(scratch), {**os.environ, "CARGO_TARGET_DIR": str(Path(scratch) / "target")})
    if not binary.exists():
        raise LocalStackError(f"cargo built {RIVVEN_CRATE} {RIVVEN_VERSION} but {binary} is missing")
    return binary


def _patched_source(cargo: str, scratch: Path) -> Path:
    """The crate's source from crates.io (`cargo fetch` of a one-line manifest), with LOGICAL_TYPES applied."""
    (scratch / "fetch" / "src").mkdir(parents=True)
    (scratch / "fetch" / "src" / "main.rs").write_text("fn main() {}\n")
    (scratch / "fetch" / "Cargo.toml").write_text(
        '[package]\nname = "fetch-rivven"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\n'
        f'{RIVVEN_CRATE} = {{ version = "={RIVVEN_VERSION}", default-features = false }}\n'
    )
    _run([cargo, "fetch", "--manifest-path", str(scratch / "fetch" / "Cargo.toml")], scratch, dict(os.environ))
    cargo_home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    packed = next(iter(cargo_home.glob(f"registry/cache/*/{RIVVEN_CRATE}-{RIVVEN_VERSION}.crate")), None)
    if packed is None:
        raise LocalStackError(f"cargo fetched no {RIVVEN_CRATE}-{RIVVEN_VERSION}.crate into {cargo_home}")
    with tarfile.open(packed) as archive:
        archive.extractall(scratch, filter="data")
    source = scratch / f"{RIVVEN_CRATE}-{RIVVEN_VERSION}"
    checker = source / "src" / "compatibility.rs"
    text = checker.read_text()
    if LOGICAL_TYPES_ANCHOR not in text:
        raise LocalStackError(f"{checker}: the place the logical-types patch goes is not there (another version?)")
    checker.write_text(text.replace(LOGICAL_TYPES_ANCHOR, LOGICAL_TYPES + LOGICAL_TYPES_ANCHOR, 1))
    return source


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=_BUILD_TIMEOUT_S,
                            check=False)  # fmt: skip
    if result.returncode != 0:
        raise LocalStackError(f"building {RIVVEN_CRATE} {RIVVEN_VERSION}: `{' '.join(command[:3])}` failed:\n"
                              f"{result.stderr[-2000:]}")  # fmt: skip


class SchemaRegistryServer(PidServer):
    """rivven-schema on 127.0.0.1 with its PID, port and log in `base_dir`; `url` is what CCPA_SCHEMA_REGISTRY_URL
    takes."""

    def __init__(self, base_dir: Path, port: int | None = None) -> None:
        super().__init__(base_dir, "schema-registry", RIVVEN_CRATE, 8081, port)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 20) -> None:
        """Build if needed, start in its own session, wait until /health answers."""
        if self.is_running():
            return
        binary = build_registry()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        port = self._requested_port or free_port()
        # The server logs to stdout only: a shell redirect keeps its log where launch() reads its tail on failure.
        command = ["/bin/sh", "-c", f'exec "$0" serve --host {LOOPBACK} --port {port} >"$1" 2>&1', str(binary),
                   str(self.log_file)]  # fmt: skip
        launch(command, RIVVEN_CRATE, self.pid_file, self.port_file, port, lambda: _answers(port), timeout,
               self.log_file, self.stop)  # fmt: skip


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://{LOOPBACK}:{port}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
