"""Refreshes the JSON schemas vendored in deploy/k8s/schemas (needs the registries; validation never does).

    python -m devtools.k8s.schemas

Kubernetes: the schemas kubernetes-validate ships in its PyPI wheel. KEDA and Prometheus Operator: the CRDs in their
Go modules' zips (Go module proxy). Strimzi: generated from io.strimzi:api with io.strimzi:crd-generator (Maven
Central), the generator Strimzi's own build runs. deploy/k8s/schemas/README.md lists the versions.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import yaml

from devtools.k8s.convert import bundle_kind, crd_schemas

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = REPO_ROOT / "deploy" / "k8s" / "schemas"
KUBERNETES_VALIDATE = "kubernetes-validate==1.37.0"
KUBERNETES_VERSION = "1.33.0"
# Only the kinds the overlays use: each file is standalone (its definitions inlined).
KUBERNETES_KINDS = (
    "configmap-v1", "secret-v1", "namespace-v1", "service-v1", "deployment-apps-v1", "poddisruptionbudget-policy-v1",
    "networkpolicy-networking-v1", "horizontalpodautoscaler-autoscaling-v2",
)  # fmt: skip
GO_CRDS = {
    "github.com/kedacore/keda/v2@v2.21.0": ("config/crd/bases/keda.sh_scaledobjects.yaml",
                                            "config/crd/bases/keda.sh_triggerauthentications.yaml"),
    "github.com/prometheus-operator/prometheus-operator@v0.85.0": (
        "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
        "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"),
}  # fmt: skip
STRIMZI_POM = SCHEMAS / "strimzi" / "pom.xml"
STRIMZI_KINDS = ("io.strimzi.api.kafka.model.topic.KafkaTopic", "io.strimzi.api.kafka.model.user.KafkaUser")


def refresh_kubernetes(work: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(work),
                    KUBERNETES_VALIDATE], check=True)  # fmt: skip
    wheel = next(work.glob("kubernetes_validate-*.whl"))
    prefix = f"kubernetes_validate/kubernetes-json-schema/v{KUBERNETES_VERSION}-local-strict/"
    with zipfile.ZipFile(wheel) as archive:
        definitions = json.loads(archive.read(prefix + "_definitions.json"))["$defs"]
        target = SCHEMAS / "kubernetes" / f"v{KUBERNETES_VERSION}-standalone-strict"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for kind in KUBERNETES_KINDS:
            schema = bundle_kind(json.loads(archive.read(f"{prefix}{kind}.json")), definitions)
            _write(target / f"{kind}.json", schema)


def refresh_go_crds() -> None:
    for module, paths in GO_CRDS.items():
        found = subprocess.run(["go", "mod", "download", "-json", module], check=True, capture_output=True, text=True)
        with zipfile.ZipFile(json.loads(found.stdout)["Zip"]) as archive:
            for path in paths:
                _write_crd(yaml.safe_load(archive.read(f"{module}/{path}")))


def refresh_strimzi(work: Path) -> None:
    jars = work / "strimzi-jars"
    subprocess.run(["mvn", "-q", "-B", "-f", str(STRIMZI_POM), "dependency:copy-dependencies",
                    f"-DoutputDirectory={jars}"], check=True)  # fmt: skip
    outputs = {kind: work / f"{kind.rsplit('.', 1)[1]}.yaml" for kind in STRIMZI_KINDS}
    subprocess.run(["java", "-cp", f"{jars}/*", "io.strimzi.crdgenerator.CrdGenerator", "--crd-api-version", "v1",
                    "--api-versions", "v1beta2", "--storage-version", "v1beta2", "--yaml",
                    *(f"{kind}={path}" for kind, path in outputs.items())], check=True)  # fmt: skip
    for path in outputs.values():
        _write_crd(yaml.safe_load(path.read_text()))


def _write_crd(crd: dict[str, Any]) -> None:
    for name, schema in crd_schemas(crd).items():
        _write(SCHEMAS / "crds" / crd["spec"]["group"] / name, schema)


def _write(path: Path, schema: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        refresh_kubernetes(Path(tmp))
        shutil.rmtree(SCHEMAS / "crds", ignore_errors=True)
        refresh_go_crds()
        refresh_strimzi(Path(tmp))
    print(f"schemas refreshed in {SCHEMAS.relative_to(REPO_ROOT)}")  # noqa: T201


if __name__ == "__main__":
    main()
