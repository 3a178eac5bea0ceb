"""Generate the demo company's stores (app and marketing databases, session cache, access logs, two providers).

Deterministic per seed, streamed subject by subject, bulk-loaded; the stores are what devtools/demo/datamap.yaml
describes, plus the planted unmapped columns of devtools/demo/planted.py. A manifest records what was generated.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
import sqlalchemy as sa

from devtools.demo import schema
from devtools.demo.jobs import DemoGenerationError, run_jobs
from devtools.demo.providers import PROVIDER_METADATA, PROVIDERS, signing_secret_env, token_env
from devtools.demo.sinks import clear_redis, recreate_tables
from devtools.demo.traces import LOG_FILES
from services.common.datamap import DataMap, load_datamap

__all__ = [
    "DATAMAP_PATH",
    "DemoCompany",
    "DemoGenerationError",
    "DemoTarget",
    "demo_env",
    "existing_company",
    "generate_company",
    "load_demo_datamap",
    "provider_tokens",
    "read_manifest",
]

GENERATOR_VERSION = 4  # 2: indexes on lower(email); 3: analytics_events.page_title; 4: job applications
DATAMAP_PATH = Path(__file__).with_name("datamap.yaml")
FIRST_ACCOUNT = "acct-0000000"  # subject 0 is in every store, the session cache included


@dataclass(frozen=True)
class DemoTarget:
    """Where the demo company's stores live."""

    app_db_url: str
    marketing_db_url: str
    redis_url: str
    log_dir: Path
    provider_dir: Path
    manifest_path: Path
    mailer_url: str = "http://127.0.0.1:8091"
    shipper_url: str = "http://127.0.0.1:8092"

    @classmethod
    def in_directory(
        cls, root: Path, redis_url: str, app_db_url: str | None = None, marketing_db_url: str | None = None
    ) -> DemoTarget:
        """SQLite databases, logs, provider data and the manifest under `root`, unless URLs are given."""
        root = Path(root).resolve()
        return cls(
            app_db_url=app_db_url or f"sqlite:///{root / 'app.db'}",
            marketing_db_url=marketing_db_url or f"sqlite:///{root / 'marketing.db'}",
            redis_url=redis_url,
            log_dir=root / "logs",
            provider_dir=root / "providers",
            manifest_path=root / "manifest.json",
        )

    @classmethod
    def from_manifest(cls, path: Path) -> DemoTarget:
        recorded = read_manifest(path).get("target")
        if not isinstance(recorded, dict):
            raise DemoGenerationError(f"{path}: the manifest names no target; run `ccpa demo generate` again")
        return cls.from_description(recorded)

    @classmethod
    def from_description(cls, described: Mapping[str, str]) -> DemoTarget:
        """The inverse of `describe`."""
        try:
            return cls(
                app_db_url=described["app_db_url"],
                marketing_db_url=described["marketing_db_url"],
                redis_url=described["redis_url"],
                log_dir=Path(described["log_dir"]),
                provider_dir=Path(described["provider_dir"]),
                manifest_path=Path(described["manifest_path"]),
                mailer_url=described["mailer_url"],
                shipper_url=described["shipper_url"],
            )
        except KeyError as exc:
            raise DemoGenerationError(f"the demo target lacks {exc}; run `ccpa demo generate` again") from None

    def provider_data(self, name: str) -> Path:
        return self.provider_dir / f"{name}.db"

    def describe(self) -> dict[str, str]:
        return {name: str(value) for name, value in asdict(self).items()}


@dataclass(frozen=True)
class DemoCompany:
    target: DemoTarget
    subjects: int
    seed: int
    counts: Mapping[str, int] = field(default_factory=dict)  # "store.collection" → records written
    elapsed_seconds: float = 0.0
    reused: bool = False  # the manifest matched, nothing was written

    @property
    def env(self) -> dict[str, str]:
        return demo_env(self.target)


def provider_tokens(provider_dir: Path) -> dict[str, str]:
    """The providers' bearer tokens: set in the environment, else generated once into provider_dir/tokens.json."""
    path = provider_dir / "tokens.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    names = [name for provider in PROVIDERS for name in (token_env(provider), signing_secret_env(provider))]
    if sorted(stored) != sorted(names):
        stored = {name: secrets.token_urlsafe(24) for name in names}
        provider_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2))
        path.chmod(0o600)
    return {name: os.environ.get(name) or value for name, value in stored.items()}


def demo_env(target: DemoTarget) -> dict[str, str]:
    """The DEMO_* variables devtools/demo/datamap.yaml and the provider servers read."""
    return {
        "DEMO_APP_DB_URL": target.app_db_url,
        "DEMO_MARKETING_DB_URL": target.marketing_db_url,
        "DEMO_REDIS_URL": target.redis_url,
        "DEMO_LOG_DIR": str(target.log_dir),
        "DEMO_MAILER_URL": target.mailer_url,
        "DEMO_SHIPPER_URL": target.shipper_url,
        "DEMO_MAILER_DATA": str(target.provider_data("mailer")),
        "DEMO_SHIPPER_DATA": str(target.provider_data("shipper")),
        **provider_tokens(target.provider_dir),
    }


def load_demo_datamap(target: DemoTarget) -> DataMap:
    return load_datamap(DATAMAP_PATH, demo_env(target))


def generate_company(
    out: DemoTarget,
    subjects: int,
    seed: int = 7,
    progress: bool = False,
    force: bool = False,
    parallel: bool | None = None,
) -> DemoCompany:
    """Fill the target's stores with `subjects` subjects; an existing identical generation is kept unless `force`.

    `parallel` None lets the size decide whether the second job runs in a child interpreter.
    """
    if subjects < 1:
        raise ValueError(f"subjects must be at least 1, got {subjects}")
    wanted = _identity(out, subjects, seed)
    recorded = _read_manifest(out.manifest_path)
    if not force and recorded and {key: recorded.get(key) for key in wanted} == wanted and _still_there(out, subjects):
        return DemoCompany(out, subjects, seed, recorded.get("counts", {}), 0.0, reused=True)
    started = time.monotonic()
    _prepare(out)
    counts = run_jobs(out, subjects, seed, progress, parallel)
    company = DemoCompany(out, subjects, seed, dict(sorted(counts.items())), time.monotonic() - started)
    _write_manifest(company, wanted)
    return company


def existing_company(target: DemoTarget) -> DemoCompany | None:
    """The company a manifest records at `target`, while its databases are still there, whatever was deleted or
    corrected in them since; None when there is nothing to keep."""
    recorded = _read_manifest(target.manifest_path) or {}
    subjects, seed = recorded.get("subjects"), recorded.get("seed")
    if not isinstance(subjects, int) or not isinstance(seed, int):
        return None
    if not (_has_table(target.app_db_url, "customers") and _has_table(target.marketing_db_url, "subscribers")):
        return None
    return DemoCompany(target, subjects, seed, recorded.get("counts", {}), 0.0, reused=True)


def _has_table(url: str, table: str) -> bool:
    """Whether the database holds the table; a missing SQLite file holds nothing (and is not created here)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        return False
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return sa.inspect(connection).has_table(table)
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def _still_there(target: DemoTarget, subjects: int) -> bool:
    """A cheap look at the stores most likely lost since: a Redis without persistence, a dropped database."""
    client = redis.Redis.from_url(target.redis_url, socket_connect_timeout=5)
    engine = sa.create_engine(target.app_db_url)
    try:
        with engine.connect() as connection:
            count = connection.execute(sa.select(sa.func.count()).select_from(schema.customers)).scalar_one()
        return bool(count == subjects and client.exists(f"session:{FIRST_ACCOUNT}"))
    except (redis.RedisError, sa.exc.SQLAlchemyError):
        return False
    finally:
        client.close()
        engine.dispose()


def _prepare(target: DemoTarget) -> None:
    """Remove what an earlier generation left, so the new one starts clean; check every store answers first."""
    target.manifest_path.unlink(missing_ok=True)
    _check_redis(target.redis_url)
    try:
        recreate_tables(target.app_db_url, schema.app_metadata)
        recreate_tables(target.marketing_db_url, schema.marketing_metadata)
    except sa.exc.SQLAlchemyError as exc:
        raise DemoGenerationError(f"cannot create the demo tables: {exc}") from exc
    target.provider_dir.mkdir(parents=True, exist_ok=True)
    for name, metadata in PROVIDER_METADATA.items():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target.provider_data(name)}{suffix}").unlink(missing_ok=True)
        recreate_tables(f"sqlite:///{target.provider_data(name)}", metadata)
    target.log_dir.mkdir(parents=True, exist_ok=True)
    for name in LOG_FILES:
        (target.log_dir / name).unlink(missing_ok=True)
    clear_redis(target.redis_url)


def _check_redis(url: str) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise DemoGenerationError(
            f"Redis at {_without_password(url)} does not answer ({exc}); start one with "
            "`python -m devtools.localstack redis up` or pass --redis-url"
        ) from exc
    finally:
        client.close()


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _identity(target: DemoTarget, subjects: int, seed: int) -> dict[str, Any]:
    return {"generator": GENERATOR_VERSION, "subjects": subjects, "seed": seed, "target": target.describe()}


def _read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return recorded if isinstance(recorded, dict) else None


def read_manifest(path: Path) -> dict[str, Any]:
    recorded = _read_manifest(path)
    if recorded is None:
        raise DemoGenerationError(f"{path}: no demo manifest; run `ccpa demo generate` first")
    return recorded


def _write_manifest(company: DemoCompany, identity: dict[str, Any]) -> None:
    manifest = {
        **identity,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_seconds": round(company.elapsed_seconds, 2),
        "env": company.env,
        "counts": company.counts,
    }
    path = company.target.manifest_path
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(manifest, indent=2))
    temporary.chmod(0o600)  # the env holds the providers' tokens
    temporary.replace(path)
