"""Renders the kustomize overlays and validates the rendered resources against the vendored schemas, offline."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from devtools.k8s.tools import go_tool

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S = REPO_ROOT / "deploy" / "k8s"
SCHEMAS = K8S / "schemas"
OVERLAYS = ("dev", "production", "production-monitored", "production-topics")
KUBERNETES_VERSION = "1.33.0"
SCHEMA_LOCATIONS = (
    str(SCHEMAS / "kubernetes" / "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}"
        / "{{ .ResourceKind }}{{ .KindSuffix }}.json"),
    str(SCHEMAS / "crds" / "{{ .Group }}" / "{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"),
)  # fmt: skip


@dataclass(frozen=True)
class Validation:
    ok: bool
    report: str  # kubeconform's lines: each invalid resource, the field, and a summary


@cache
def rendered(overlay: str) -> str:
    """`kustomize build deploy/k8s/overlays/<overlay>`, once per process."""
    built = subprocess.run([str(go_tool("kustomize")), "build", str(K8S / "overlays" / overlay)],
                           check=False, capture_output=True, text=True)  # fmt: skip
    if built.returncode != 0:
        raise RuntimeError(f"kustomize build overlays/{overlay} failed: {built.stderr.strip()}")
    return built.stdout


@cache
def resources(overlay: str) -> tuple[dict[str, Any], ...]:
    """The rendered resources, parsed once per process (callers must not change them)."""
    return tuple(doc for doc in yaml.safe_load_all(rendered(overlay)) if doc)


def validate(manifests: str) -> Validation:
    """kubeconform -strict on `manifests` with only the vendored schemas: a kind without one is an error."""
    locations = [arg for location in SCHEMA_LOCATIONS for arg in ("-schema-location", location)]
    command = [str(go_tool("kubeconform")), "-strict", "-summary", "-kubernetes-version", KUBERNETES_VERSION]
    checked = subprocess.run([*command, *locations, "-"], input=manifests, check=False, capture_output=True, text=True)
    return Validation(checked.returncode == 0, (checked.stdout + checked.stderr).strip())
