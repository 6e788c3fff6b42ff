"""The dependencies: ranges in pyproject.toml whose lower bounds are the exact set in constraints.txt, which CI
and the README's set-up commands install."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from test_readme import ROOT, setup_commands

CORE = ("torch", "torchvision", "timm", "optuna", "ray", "mlflow", "optuna-dashboard")
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
REQUIREMENTS = {
    canonicalize_name(requirement.name): requirement
    for requirement in map(Requirement, [*PROJECT["dependencies"], *sum(PROJECT["optional-dependencies"].values(), [])])
}


def _pins(path: Path) -> dict[str, Version]:
    pins = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = Version(version)
    return pins


PINS = _pins(ROOT / "constraints.txt")


@pytest.mark.parametrize("name", CORE)
def test_a_core_dependency_is_a_range_from_its_tested_version(name: str) -> None:
    specifiers = {spec.operator: Version(spec.version) for spec in REQUIREMENTS[name].specifier}
    assert set(specifiers) == {">=", "<"}, f"{name}: expected >=TESTED,<NEXT_MAJOR, got {REQUIREMENTS[name]}"
    assert specifiers[">="] == PINS[name]
    assert specifiers["<"] == Version(f"{PINS[name].major + 1}")


def test_every_requirement_is_pinned_to_a_version_it_accepts() -> None:
    outside = {str(requirement): str(PINS.get(name)) for name, requirement in REQUIREMENTS.items()
               if name not in PINS or PINS[name] not in SpecifierSet(str(requirement.specifier))}
    assert outside == {}


def test_the_readme_and_ci_install_the_tested_set() -> None:
    assert all(" -c constraints.txt " in command for command in setup_commands())
