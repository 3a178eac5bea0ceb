"""Checks a Grafana dashboard before it ships: the fields Grafana needs, and every panel's PromQL parsed (with
promql-parser) and its metrics and labels found among those the services export."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import promql_parser
from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

DATASOURCE_UID = "${datasource}"
# Grafana substitutes these before the query reaches Prometheus; any valid duration parses the same way.
GRAFANA_RANGES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1d"}
# Labels Prometheus attaches to every series of a scraped target, whatever the service exports.
TARGET_LABELS = frozenset({"job", "instance", "namespace", "pod", "service", "container", "endpoint"})
SAMPLE_SUFFIXES = {"counter": ("_total", "_created"), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count",
                   "_created"), "summary": ("", "_sum", "_count", "_created"), "info": ("_info",)}  # fmt: skip
_VARIABLE = re.compile(r"\$\{?(\w+)\}?")


class DashboardError(ValueError):
    """A panel query Prometheus could not parse."""


@dataclass(frozen=True)
class Query:
    """One target of one panel, named for the error messages."""

    panel: str
    ref: str
    expr: str


@dataclass(frozen=True)
class Selector:
    metric: str
    labels: frozenset[str]


def panels(dashboard: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every panel, rows included, and the panels folded inside collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def queries(dashboard: Mapping[str, Any]) -> list[Query]:
    return [Query(str(panel.get("title")), str(target.get("refId")), str(target.get("expr", "")))
            for panel in panels(dashboard) if panel.get("type") != "row"
            for target in panel.get("targets", [])]  # fmt: skip


def parse(expr: str) -> promql_parser.Expr:
    """The expression's syntax tree, with Grafana's range variables replaced; DashboardError when invalid."""
    substituted = expr
    for variable, duration in GRAFANA_RANGES.items():
        substituted = substituted.replace(variable, duration)
    if _VARIABLE.search(substituted):
        raise DashboardError(f"{expr!r}: uses a dashboard variable the checker cannot substitute")
    try:
        return promql_parser.parse(substituted)
    except ValueError as exc:
        raise DashboardError(f"{expr!r} is not valid PromQL: {exc}") from exc


def selectors(expr: str) -> tuple[list[Selector], frozenset[str]]:
    """The metric selectors of an expression and the labels it groups or matches on (by, without, on, ignoring)."""
    found: list[Selector] = []
    grouped: set[str] = set()

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            matchers = node.matchers.matchers
            name = node.name or next((m.value for m in matchers if m.name == "__name__"), "")
            found.append(Selector(name, frozenset(m.name for m in matchers if m.name != "__name__")))
        modifier = getattr(node, "modifier", None)
        if isinstance(node, promql_parser.AggregateExpr) and modifier is not None:
            grouped.update(modifier.labels)
        if isinstance(node, promql_parser.BinaryExpr) and modifier is not None and modifier.matching is not None:
            grouped.update(modifier.matching.labels)
        return True

    promql_parser.walk(parse(expr), visit)
    return found, frozenset(grouped)


def registry_exports(registry: CollectorRegistry) -> dict[str, frozenset[str]]:
    """Every sample name a registry exports, with its label names (a labelled metric that has not been used yet
    has no samples to read labels from, so they are taken from its collector)."""
    exported: dict[str, frozenset[str]] = {}
    # prometheus_client lists a registry's collectors and their sample names nowhere public; collect() gives no
    # labels for a family without samples.
    for collector, names in registry._collector_to_names.items():
        labels = frozenset(collector._labelnames) if isinstance(collector, MetricWrapperBase) else frozenset()
        exported |= {name: labels for name in names}
    return exported


def scraped_exports(exposition: str) -> set[str]:
    """The sample names a /metrics page declares (its TYPE lines count, even for a metric with no sample yet)."""
    return {f"{family.name}{suffix}" for family in text_string_to_metric_families(exposition)
            for suffix in SAMPLE_SUFFIXES.get(family.type, ("",))}  # fmt: skip


def metric_problems(found: Iterable[Query], exported: Mapping[str, frozenset[str]]) -> list[str]:
    """What is wrong with the queries' metrics: one line per unknown metric, label or grouping label."""
    problems = []
    for query in found:
        where = f"panel {query.panel!r} target {query.ref}"
        try:
            chosen, grouped = selectors(query.expr)
        except DashboardError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if not chosen:
            problems.append(f"{where}: queries no metric")
        for selector in chosen:
            if selector.metric not in exported:
                problems.append(f"{where}: {selector.metric} is exported by no service")
                continue
            for label in sorted(selector.labels - exported[selector.metric] - TARGET_LABELS):
                problems.append(f"{where}: {selector.metric} has no label {label!r}")
        known = TARGET_LABELS.union({"le"}, *(exported.get(s.metric, frozenset()) for s in chosen))
        problems += [f"{where}: groups by {name!r}, which none of its metrics has" for name in sorted(grouped - known)]
    return problems


def structure_problems(dashboard: Mapping[str, Any]) -> list[str]:
    """What Grafana needs and the sidecar import relies on: a uid and title, a Prometheus `datasource` variable that
    every panel and target uses, unique panel ids, a gridPos inside the 24 columns, no overlap, a query per target."""
    problems = [f"dashboard has no {field}" for field in ("uid", "title", "schemaVersion") if not dashboard.get(field)]
    variables = {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}
    source = variables.get("datasource", {})
    if source.get("type") != "datasource" or source.get("query") != "prometheus":
        problems.append("no `datasource` template variable of type datasource querying prometheus")
    problems += [f"external link {link.get('url', link.get('title'))!r}" for link in dashboard.get("links", [])]
    ids = [panel.get("id") for panel in panels(dashboard)]
    problems += [f"panel id {pid} is used {ids.count(pid)} times" for pid in sorted(set(ids), key=str)
                 if ids.count(pid) > 1 or pid is None]  # fmt: skip
    placed: list[tuple[str, tuple[int, int, int, int]]] = []
    for panel in panels(dashboard):
        title = f"panel {panel.get('title')!r}"
        box = _box(panel.get("gridPos", {}))
        if box is None:
            problems.append(f"{title}: gridPos needs integer h, w, x, y with x + w <= 24")
            continue
        problems += [f"{title} overlaps {other}" for other, taken in placed if _overlap(box, taken)]
        placed.append((title, box))
        if panel.get("type") != "row":
            problems += _panel_problems(title, panel)
    return problems


def _panel_problems(title: str, panel: Mapping[str, Any]) -> list[str]:
    problems = [] if panel.get("targets") else [f"{title}: has no targets"]
    for holder in (panel, *panel.get("targets", [])):
        if holder.get("datasource") != {"type": "prometheus", "uid": DATASOURCE_UID}:
            problems.append(f"{title}: datasource must be the ${{datasource}} Prometheus variable")
    refs = [target.get("refId") for target in panel.get("targets", [])]
    if len(set(refs)) != len(refs) or None in refs:
        problems.append(f"{title}: refIds must be set and unique, got {refs}")
    problems += [f"{title}: target {t.get('refId')} has no expr" for t in panel.get("targets", []) if not t.get("expr")]
    return problems


def _box(grid: Mapping[str, Any]) -> tuple[int, int, int, int] | None:
    values = [grid.get(key) for key in ("x", "y", "w", "h")]
    numbers = [v for v in values if isinstance(v, int) and not isinstance(v, bool) and v >= 0]
    if len(numbers) != 4:
        return None
    x, y, w, h = numbers
    return (x, y, w, h) if w > 0 and h > 0 and x + w <= 24 else None


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]
