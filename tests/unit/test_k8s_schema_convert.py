"""The schema conversions behind deploy/k8s/schemas: a kind bundled with what it reaches, a CRD made strict."""

from __future__ import annotations

from devtools.k8s.convert import bundle_kind, crd_schemas

DEFINITIONS = {
    "Meta": {"type": "object", "properties": {"name": {"type": "string"}}},
    "Spec": {"type": "object", "properties": {"template": {"$ref": "#/$defs/Template"}}},
    "Template": {"type": "object", "properties": {"size": {"type": "integer"}}},
    "Unused": {"type": "string"},
}


def test_a_kind_carries_every_definition_it_reaches_and_no_other() -> None:
    kind = {"properties": {"metadata": {"$ref": "/api/_definitions.json#/$defs/Meta"},
                           "spec": {"$ref": "/api/_definitions.json#/$defs/Spec"}}}  # fmt: skip
    bundled = bundle_kind(kind, DEFINITIONS)
    assert bundled["properties"]["spec"]["$ref"] == "#/$defs/Spec"
    assert set(bundled["$defs"]) == {"Meta", "Spec", "Template"}
    assert kind["properties"]["spec"]["$ref"].startswith("/api/")  # the input is left as it was


def test_a_crd_becomes_strict_except_where_it_keeps_unknown_fields() -> None:
    crd = {"spec": {"group": "kafka.strimzi.io", "names": {"kind": "KafkaTopic"}, "versions": [
        {"name": "v1beta2", "served": True, "schema": {"openAPIV3Schema": {"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "partitions": {"type": "integer"},
                "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                           "properties": {"retention.ms": {"type": "string"}}}}}}}}},
        {"name": "v1alpha1", "served": False, "schema": {"openAPIV3Schema": {"type": "object"}}}]}}  # fmt: skip
    schemas = crd_schemas(crd)
    assert list(schemas) == ["kafkatopic_v1beta2.json"]
    schema = schemas["kafkatopic_v1beta2.json"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["spec"]["additionalProperties"] is False
    assert "additionalProperties" not in schema["properties"]["spec"]["properties"]["config"]
    assert schema["properties"]["apiVersion"]["enum"] == ["kafka.strimzi.io/v1beta2"]
    assert schema["properties"]["kind"]["enum"] == ["KafkaTopic"]
