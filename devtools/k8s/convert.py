"""Turns upstream schema sources into the standalone JSON schemas kubeconform reads from deploy/k8s/schemas.

Pure functions: the Kubernetes definitions (as kubernetes-validate ships them, one `_definitions.json` that every
kind refers to) are bundled per kind, and a CRD's `openAPIV3Schema` becomes a strict JSON schema, the way
kubeconform's own `openapi2jsonschema` does it.
"""

from __future__ import annotations

import copy
from typing import Any

DEFINITIONS_REF = "/api/_definitions.json#/$defs/"
LOCAL_REF = "#/$defs/"


def bundle_kind(kind_schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """One kind's schema with every definition it reaches inlined under `$defs`, so it needs no other file."""
    schema: dict[str, Any] = _rewrite_refs(copy.deepcopy(kind_schema))
    needed: dict[str, Any] = {}
    pending = list(_refs(schema))
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        needed[name] = _rewrite_refs(copy.deepcopy(definitions[name]))
        pending.extend(_refs(needed[name]))
    schema["$defs"] = dict(sorted(needed.items()))
    return schema


def crd_schemas(crd: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`{file name: schema}` for every served version of a CRD, named `<kind>_<version>.json` (lower-case kind)."""
    kind = crd["spec"]["names"]["kind"]
    group = crd["spec"]["group"]
    schemas = {}
    for version in crd["spec"]["versions"]:
        if not version.get("served", True):
            continue
        schema = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
        properties = schema.setdefault("properties", {})
        properties["apiVersion"] = {"type": "string", "enum": [f"{group}/{version['name']}"]}
        properties["kind"] = {"type": "string", "enum": [kind]}
        properties.setdefault("metadata", {"type": "object"})
        schemas[f"{kind.lower()}_{version['name']}.json"] = schema
    return schemas


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"][len(LOCAL_REF) :]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str) and node["$ref"].startswith(DEFINITIONS_REF):
            node["$ref"] = LOCAL_REF + node["$ref"][len(DEFINITIONS_REF) :]
        for value in node.values():
            _rewrite_refs(value)
    elif isinstance(node, list):
        for item in node:
            _rewrite_refs(item)
    return node


def _strict(node: Any) -> Any:
    """No property the CRD does not declare, except where it keeps unknown fields (a topic's `config`)."""
    if isinstance(node, dict):
        open_ended = node.get("x-kubernetes-preserve-unknown-fields") is True
        if "properties" in node and "additionalProperties" not in node and not open_ended:
            node["additionalProperties"] = False
        for key, value in node.items():
            if key != "enum":
                _strict(value)
    elif isinstance(node, list):
        for item in node:
            _strict(item)
    return node
