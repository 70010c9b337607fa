"""Every public function of a service module has a caller outside the tests.

A service nobody calls is either a page, command or admin that was never built, or a helper
that should be private (`_name`). The scan is by syntax (ast), over the project's own
non-test Python files: a function counts as called when another module imports it (or its
module) and names it — `from cases.casework import visit_record` then `visit_record`, or
`casework.visit_record`, `staticmethod(casework.visit_record)` — or when its own module names
it outside its own body (another function, a class body, a module-level table). Benchmarks
(`bench/`) do not count: they measure the code, they do not use it.

The service modules are those docs/ARCHITECTURE.md names as the write and import API of each
app ("Rooms": `cases/services.py`, `cases/casework.py`, `subsidies/services.py`,
`subsidies/policy.py`, `monitoring/services.py`, `monitoring/findings.py`,
`monitoring/finding_actions.py`) and `subsidies/referrals.py` (referrals and their units).
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

SERVICE_MODULES = (
    "cases.services",
    "cases.casework",
    "subsidies.services",
    "subsidies.policy",
    "subsidies.referrals",
    "monitoring.services",
    "monitoring.findings",
    "monitoring.finding_actions",
)

SKIPPED_DIRS = {"tests", "bench", ".venv", "node_modules", ".git", "static", "templates"}


def project_files() -> list[Path]:
    files = []
    for path in REPO.rglob("*.py"):
        relative = path.relative_to(REPO)
        if relative.parts[0] in SKIPPED_DIRS or any(p.startswith(".") for p in relative.parts):
            continue
        files.append(path)
    return sorted(files)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def absolute(module: str, level: int, target: str | None, is_package: bool) -> str:
    """The module a (possibly relative) `from ... import` names."""
    if level == 0:
        return target or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def public_functions(tree: ast.Module) -> list[str]:
    names = []
    for node in tree.body:
        is_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        if is_function and not node.name.startswith("_") and node.name not in names:
            names.append(node.name)
    return names


def dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def references_elsewhere(module: str, path: Path, tree: ast.Module, services: set[str]) -> set:
    """(service module, function) pairs this file names, seen from another module."""
    is_package = path.name == "__init__.py"
    aliases: dict[str, str] = {}  # local name → "module" or "module.function"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            source = absolute(module, node.level, node.module, is_package)
            for alias in node.names:
                local = alias.asname or alias.name
                aliases[local] = f"{source}.{alias.name}" if source else alias.name
    found = set()
    for node in ast.walk(tree):
        name = dotted(node) if isinstance(node, ast.Name | ast.Attribute) else None
        if not name:
            continue
        head, _, rest = name.partition(".")
        if head not in aliases:
            continue
        full = f"{aliases[head]}.{rest}" if rest else aliases[head]
        owner, _, function = full.rpartition(".")
        if owner in services and owner != module:
            found.add((owner, function))
    return found


def references_in_own_module(tree: ast.Module, names: list[str]) -> set[str]:
    """Functions of this module named outside their own body."""
    used = set()
    for node in tree.body:
        own = node.name if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else None
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name) and inner.id in names and inner.id != own:
                used.add(inner.id)
    return used


def functions_without_callers() -> list[str]:
    parsed = {
        module_name(p): (p, ast.parse(p.read_text(encoding="utf-8"))) for p in project_files()
    }
    services = {name for name in SERVICE_MODULES if name in parsed}
    public = {name: public_functions(parsed[name][1]) for name in services}
    called: set = set()
    for module, (path, tree) in parsed.items():
        called |= references_elsewhere(module, path, tree, services)
    missing = []
    for name in sorted(services, key=SERVICE_MODULES.index):
        own = references_in_own_module(parsed[name][1], public[name])
        for function in public[name]:
            if function not in own and (name, function) not in called:
                missing.append(f"{name}.{function}")
    return missing


def test_every_service_function_has_a_caller_outside_the_tests():
    missing = functions_without_callers()
    assert missing == [], (
        f"{len(missing)} public service functions have no caller outside tests/ "
        "(build the page/command/admin that calls it, or make it private):\n  "
        + "\n  ".join(missing)
    )


# --- the scan itself can see a caller, and a missing one ---


def scan(source: str, module: str = "staff.views.x", path: str = "staff/views/x.py") -> set:
    return references_elsewhere(module, REPO / path, ast.parse(source), set(SERVICE_MODULES))


@pytest.mark.parametrize(
    "source",
    [
        "from cases.casework import visit_record\nvisit_record(u, h)",
        "from cases import casework\nx = staticmethod(casework.visit_record)",
        "import cases.casework\ncases.casework.visit_record(u, h)",
        "from cases import casework as cw\ncw.visit_record(u, h)",
    ],
)
def test_the_scan_finds_a_caller(source):
    assert ("cases.casework", "visit_record") in scan(source)


def test_the_scan_resolves_relative_imports():
    found = scan(
        "from .casework import visit_record\nvisit_record", "cases.admin", "cases/admin.py"
    )
    assert ("cases.casework", "visit_record") in found


def test_the_scan_ignores_a_same_named_attribute_of_something_else():
    assert scan("rows.values('id')\nrecord.visit_record") == set()


def test_a_function_named_only_in_its_own_body_is_not_called():
    tree = ast.parse("def a():\n    return a()\n\ndef b():\n    return a()\n\ndef c():\n    pass\n")
    assert references_in_own_module(tree, ["a", "b", "c"]) == {"a"}
