"""No service package imports another service's package, services/common imports none, and nothing under
services/ imports devtools, walking the import statements of every module under services/.

The one exception is `services/cli.py`, the product's `ccpa` command: it sits above the services, mounts each
one's command group (audit rebuild, deletion backups, discovery scan, optout gpp) and, when devtools is installed,
the development commands. It is a composition root, not a service, and no service imports it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[2] / "services"
SERVICE_PACKAGES = sorted(path.name for path in SERVICES.iterdir() if (path / "__init__.py").is_file())
PRODUCT_CLI = SERVICES / "cli.py"


def imported_modules(path: Path, root: Path = SERVICES) -> Iterator[tuple[int, str]]:
    """(line, module) of every import in the file, relative imports resolved against its package."""
    package = path.relative_to(root.parent).with_suffix("").parts[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            yield node.lineno, module
            # `from services import discovery` names a package too
            yield from ((node.lineno, f"{module}.{alias.name}") for alias in node.names)


def owner(module: str) -> str | None:
    """The services package a module belongs to, 'devtools' for tooling, None for anything else."""
    parts = module.split(".")
    if parts[0] == "devtools":
        return "devtools"
    if parts[0] == "services" and len(parts) > 1 and parts[1] in SERVICE_PACKAGES:
        return parts[1]
    return None


def crossings(package: str) -> list[str]:
    found = []
    for path in sorted((SERVICES / package).rglob("*.py")):
        for line, module in imported_modules(path):
            target = owner(module)
            if target is not None and target not in (package, "common"):
                found.append(f"{path.relative_to(SERVICES.parent)}:{line} imports {module}")
    return found


def test_the_service_packages_are_found() -> None:
    assert {"audit", "common", "deletion", "discovery", "intake", "optout"} <= set(SERVICE_PACKAGES)


@pytest.mark.parametrize("package", SERVICE_PACKAGES)
def test_a_service_imports_only_itself_and_common(package: str) -> None:
    assert crossings(package) == []


def test_only_the_product_cli_mounts_devtools_and_only_optionally() -> None:
    for path in sorted(SERVICES.glob("*.py")):
        if path != PRODUCT_CLI:
            assert [m for _, m in imported_modules(path) if owner(m) == "devtools"] == [], path.name
    tree = ast.parse(PRODUCT_CLI.read_text())
    guarded = {
        node.lineno
        for handler in ast.walk(tree)
        if isinstance(handler, ast.Try)
        and any(isinstance(h.type, ast.Name) and h.type.id == "ImportError" for h in handler.handlers)
        for node in ast.walk(handler)
        if isinstance(node, ast.ImportFrom)
    }
    devtools_imports = [line for line, module in imported_modules(PRODUCT_CLI) if owner(module) == "devtools"]
    assert devtools_imports and set(devtools_imports) <= guarded, "devtools is mounted only when it is installed"


def test_the_walk_sees_a_crossing(tmp_path: Path) -> None:
    """The checker itself: an import of another service's module, absolute or relative, is found."""
    module = tmp_path / "services" / "deletion" / "handlers.py"
    module.parent.mkdir(parents=True)
    module.write_text("from services.discovery.handlers import x\nfrom ..discovery import handlers\nimport devtools\n")
    found = [(line, owner(name)) for line, name in imported_modules(module, tmp_path / "services")]
    assert {(1, "discovery"), (2, "discovery"), (3, "devtools")} <= set(found)
