from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from autoaug.errors import SpaceError
from autoaug.policy import Policy
from autoaug.space import builtin_spaces, load_space


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return str(path)


def test_builtin_spaces_include_default_and_randaugment() -> None:
    assert {"default", "randaugment"} <= set(builtin_spaces())


@pytest.mark.parametrize("name", builtin_spaces())
def test_every_builtin_space_suggests_valid_policies(name: str) -> None:
    space = load_space(name)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(5):
        trial = study.ask()
        policy = space.suggest(trial)
        assert Policy.from_json(policy.to_json()) == policy
        study.tell(trial, 0.0)


def test_sequence_space_gives_every_op_its_own_probability_and_magnitude(tmp_path: Path) -> None:
    space = load_space(_write(tmp_path, "version: 1\nname: s\nstructure: sequence\nops: [rotate, downscale]\n"
                                        "probability: [0.2, 0.4]\n"))
    trial = optuna.create_study().ask()
    policy = space.suggest(trial)
    (ops,) = policy.sub_policies
    assert [op.name for op in ops] == ["rotate", "downscale"]
    assert all(0.2 <= op.probability <= 0.4 for op in ops)
    assert set(trial.params) == {"rotate.p", "rotate.m", "downscale.p", "downscale.m"}


def test_rand_space_searches_n_and_m() -> None:
    trial = optuna.create_study().ask()
    policy = load_space("randaugment").suggest(trial)
    assert policy.structure == "rand"
    assert 1 <= policy.num_ops <= 3
    assert set(trial.params) == {"num_ops", "magnitude"}


def test_glob_patterns_expand_to_op_names(tmp_path: Path) -> None:
    space = load_space(_write(tmp_path, "version: 1\nname: s\nstructure: trivial\nops: ['translate_*', rotate]\n"))
    assert space.ops == ("translate_x", "translate_y", "rotate")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nname: s\nstructure: sequence\nops: [rotat]\n", "ops: Value error, ops[0]: unknown op 'rotat'"),
        ("version: 1\nname: s\nstructure: sequence\nops: [rotate]\nprobabilty: [0, 1]\n", "probabilty: unknown key"),
        ("version: 1\nname: s\nstructure: sequence\nops: [rotate]\nmagnitude: [0.9, 0.1]\n", "magnitude:"),
        ("version: 1\nname: s\nstructure: sequence\nops: [rotate]\nmagnitude: [0, 3]\n", "0 <= low <= high <= 1"),
        ("version: 1\nname: s\nstructure: rand\nops: [rotate]\nsub_policies: 3\n", "no meaning for structure 'rand'"),
        ("version: 1\nname: s\nstructure: sideways\nops: [rotate]\n", "structure:"),
        ("version: 2\nname: s\nstructure: rand\nops: [rotate]\n", "version:"),
        ("version: 1\nname: s\nstructure: rand\nops: ['zz*']\n", "matches no op"),
        ("version: 1\nname: s\nstructure: rand\nops: [rotate\n", "invalid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
    ],
)
def test_invalid_space_names_file_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(SpaceError) as error:
        load_space(path)
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_unknown_op_suggests_the_close_name(tmp_path: Path) -> None:
    with pytest.raises(SpaceError, match="rotate"):
        load_space(_write(tmp_path, "version: 1\nname: s\nstructure: sequence\nops: [rotat]\n"))


def test_unknown_builtin_name_lists_the_builtins() -> None:
    with pytest.raises(SpaceError, match="default"):
        load_space("no-such-space")


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SpaceError, match="not found"):
        load_space(str(tmp_path / "missing.yaml"))
