"""`make k8s`: render every overlay, validate it offline against the vendored schemas, lint the Dockerfile.

    python -m devtools.k8s.check

Exits non-zero naming each overlay that does not render or validate and each hadolint finding. The policy tests
(tests/unit/test_k8s_policies.py) run after it in `make k8s`.
"""

from __future__ import annotations

import subprocess
import sys

from devtools.k8s.render import K8S, OVERLAYS, rendered, resources, validate
from devtools.k8s.tools import ToolMissing, hadolint


def check_overlays() -> list[str]:
    problems = []
    for overlay in OVERLAYS:
        try:
            result = validate(rendered(overlay))
        except RuntimeError as failed:
            problems.append(str(failed))
            continue
        summary = result.report.splitlines()[-1] if result.report else ""
        print(f"overlays/{overlay}: {len(resources(overlay))} resources, {summary}")  # noqa: T201
        if not result.ok:
            problems.append(f"overlays/{overlay} does not validate:\n{result.report}")
    return problems


def check_dockerfile() -> list[str]:
    dockerfile = K8S / "Dockerfile"
    linted = subprocess.run([str(hadolint()), "--no-color", "--failure-threshold", "style", str(dockerfile)],
                            capture_output=True, text=True, check=False)  # fmt: skip
    if linted.returncode != 0:
        return [f"hadolint found problems in deploy/k8s/Dockerfile:\n{linted.stdout}{linted.stderr}"]
    print("deploy/k8s/Dockerfile: hadolint finds nothing")  # noqa: T201
    return []


def main() -> int:
    try:
        problems = check_overlays() + check_dockerfile()
    except ToolMissing as missing:
        problems = [str(missing)]
    for problem in problems:
        print(problem, file=sys.stderr)  # noqa: T201
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
