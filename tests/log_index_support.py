"""What the log-index tests on real files share: a logs folder with the index configured, and the `web` store."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.datamap import DataMap
from services.common.datamap.model import Store
from services.common.stores import logindexed


def indexed_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A `logs` folder, with the log index in a folder beside it; every open index is closed afterwards."""
    monkeypatch.setenv("CCPA_LOG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("CCPA_SUBJECT_KEY_SECRET", base64.b64encode(b"s" * 32).decode())
    folder = tmp_path / "logs"
    folder.mkdir()
    yield folder
    logindexed.close_all()


def web(dm: DataMap) -> Store:
    store = dm.store("web")
    assert store is not None
    return store
