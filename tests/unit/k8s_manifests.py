"""The rendered overlays for the Kubernetes tests: kustomize runs once per overlay per test session."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.k8s.render import OVERLAYS, resources
from devtools.k8s.tools import ToolMissing

SERVICE_OVERLAYS = tuple(overlay for overlay in OVERLAYS if overlay != "production-topics")


def rendered_resources(overlay: str) -> list[dict[str, Any]]:
    """The overlay's resources; skipped only where kustomize is missing and Go is absent to install it."""
    try:
        return list(resources(overlay))
    except ToolMissing as missing:
        pytest.skip(str(missing))


def of_kind(overlay: str, kind: str) -> list[dict[str, Any]]:
    return [doc for doc in rendered_resources(overlay) if doc["kind"] == kind]


def config(overlay: str) -> dict[str, str]:
    maps = [doc for doc in of_kind(overlay, "ConfigMap") if doc["metadata"]["name"].startswith("ccpa-config")]
    data: dict[str, str] = maps[0]["data"]
    return data
