from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_commands() -> list[str]:
    """The README's set-up commands: install and run a search, install and run the tests."""
    section = ROOT.joinpath("README.md").read_text().split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:bash|sh)\n(.+?)\n```", section)


def test_readme_has_exactly_two_setup_commands() -> None:
    commands = setup_commands()
    assert len(commands) == 2
    assert commands[0].endswith("autoaug search")


def test_ci_runs_the_readme_test_command() -> None:
    assert setup_commands()[1] in ROOT.joinpath(".ci", "run").read_text()
