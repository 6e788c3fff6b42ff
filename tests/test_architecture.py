"""The layers of the package, read from its imports with ``ast``: no circles, imports pointing down, and the
heavy libraries kept to their own layer. See ARCHITECTURE.md."""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "autoaug"

# Lowest first; a module may import its own layer and the layers below it, never one above.
LAYERS = (
    (
        "autoaug.errors", "autoaug.vocabulary", "autoaug._yaml", "autoaug._process", "autoaug.tasks", "autoaug.metrics",
        "autoaug.measures", "autoaug.progress",
    ),
    ("autoaug.ops",),
    ("autoaug.policy",),
    ("autoaug.config",),
    ("autoaug.results",),
    ("autoaug.modalities",),
    ("autoaug.records",),
    ("autoaug.evaluation",),
    ("autoaug.tuning",),
    ("autoaug.api",),
    ("autoaug.cli",),
)
# Third-party libraries that only one part of the package may import.
OWNERS = {
    "ray": ("autoaug.tuning",),
    "optuna": ("autoaug.tuning",),
    "optuna_dashboard": ("autoaug.tuning",),
    "mlflow": ("autoaug.records",),
    "torch": ("autoaug.ops", "autoaug.modalities", "autoaug.metrics", "autoaug.measures"),
    "torchvision": ("autoaug.ops", "autoaug.modalities"),
    "timm": ("autoaug.modalities",),
    "rich": ("autoaug.cli",),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import the module runs, function-level ones included, ``if TYPE_CHECKING:`` blocks left out."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking_only(node):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from _imports(node)


def _lazy_imports(tree: ast.AST) -> set[str]:
    """The modules named by ``lazy_import("name")`` calls (``autoaug.ops._lazy``), wherever they stand."""
    return {
        node.args[0].value for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "lazy_import"
        and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
    }


def imported(module: str) -> set[str]:
    """The names ``module`` imports: libraries and modules of the package (``from package import submodule``
    counts as the submodule; a module's parent packages are imported with it and do not count), lazy ones
    included."""
    tree = ast.parse(MODULES[module].read_text())
    found = _lazy_imports(tree)
    for node in _imports(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif node.module:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & set(MODULES)
            found.update(submodules)
            if len(submodules) < len(node.names):
                found.add(node.module)
    return found


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


def _layer(module: str) -> int:
    return next(rank for rank, layer in enumerate(LAYERS) if _within(module, layer))


def _graph() -> dict[str, set[str]]:
    return {module: {name for name in imported(module) if name in MODULES} for module in MODULES}


def test_every_module_belongs_to_a_layer() -> None:
    assert [module for module in MODULES if module != "autoaug" and not _within(module, sum(LAYERS, ()))] == []


def test_the_package_has_no_import_circles() -> None:
    graph = _graph()
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        if module in visiting:
            circle = visiting[visiting.index(module):] + [module]
            pytest.fail("import circle: " + " -> ".join(circle))
        if module in done:
            return
        visiting.append(module)
        for name in sorted(graph[module]):
            visit(name)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_imports_point_down_the_layers() -> None:
    upward = [
        f"{module} imports {name}"
        for module, names in _graph().items()
        if module != "autoaug"
        for name in names
        if name != "autoaug" and _layer(name) > _layer(module)
    ]
    assert upward == []


@pytest.mark.parametrize("library", sorted(OWNERS))
def test_a_library_is_imported_only_by_its_layer(library: str) -> None:
    outside = [
        module for module in MODULES
        if any(name == library or name.startswith(library + ".") for name in imported(module))
        and not _within(module, OWNERS[library])
    ]
    assert outside == [], f"{library} is for {', '.join(OWNERS[library])} only"


def test_every_package_is_installed() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {_module_name(path) for path in PACKAGE.rglob("__init__.py")}
    assert packages | {"autoaug.search_spaces"} == listed


def test_a_lazy_import_counts_as_an_import() -> None:
    assert {"torch", "torchvision.transforms.v2.functional"} <= imported("autoaug.ops.image._geometric")
    assert "torchvision.transforms.v2" in imported("autoaug.ops.image._stock")
