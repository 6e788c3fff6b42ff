from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from autoaug.errors import SpaceError
from autoaug.modalities.image import baseline_policies
from autoaug.policy import Policy
from autoaug.tuning import builtin_spaces, load_space


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


@pytest.mark.parametrize("baseline", sorted(baseline_policies()))
def test_the_default_space_holds_every_baseline_exactly(baseline: str) -> None:
    space = load_space("default")
    point = space.baseline_point(baseline)
    assert point is not None
    study = optuna.create_study()
    study.enqueue_trial({name: value for name, (value, _) in point.items()})
    trial = study.ask()
    assert space.suggest(trial) == baseline_policies()[baseline]
    # The point is what the sampler is told for the baseline's score (a warm start).
    study.add_trial(optuna.trial.create_trial(
        params={name: value for name, (value, _) in point.items()},
        distributions={name: distribution for name, (_, distribution) in point.items()},
        value=0.5,
    ))
    assert study.trials[-1].params == trial.params


def test_stacked_draws_are_mild_as_often_as_heavy() -> None:
    space = load_space("default")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    counts = []
    for _ in range(400):
        trial = study.ask()
        policy = space.suggest(trial)
        extra = len(policy.sub_policies[0]) if policy.sub_policies else 0
        assert extra == trial.params["extra_ops"]
        counts.append(extra)
        study.tell(trial, 0.0)
    shares = [counts.count(n) / len(counts) for n in range(4)]
    assert all(0.18 < share < 0.32 for share in shares)  # 0, 1, 2 or 3 extra ops, each about a quarter


def test_stacked_policies_run_the_baseline_then_the_extra_ops() -> None:
    space = load_space("default")
    study = optuna.create_study()
    study.enqueue_trial({"base": "rand_augment", "extra_ops": 1, "extra0": "downscale", "extra0.p": 1.0,
                         "extra0.m": 0.9})
    policy = space.suggest(study.ask())
    assert policy.structure == "stacked" and policy.transform == "RandAugment"
    assert policy.kwargs == baseline_policies()["rand_augment"].kwargs
    assert [(op.name, op.probability, op.magnitude) for op in policy.sub_policies[0]] == [("downscale", 1.0, 0.9)]
    study.enqueue_trial({"base": "none", "extra_ops": 1, "extra0": "gaussian_blur", "extra0.p": 0.5, "extra0.m": 0.5})
    assert space.suggest(study.ask()).structure == "subpolicies"


def test_only_a_stacked_space_holds_baselines() -> None:
    assert load_space("broad").baseline_point("none") is None
    assert load_space("default").baseline_point("not_a_baseline") is None


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
        ("version: 1\nname: s\nstructure: stacked\nops: [rotate]\nbases: [none, fancy]\n", "expected distinct baseline"),
        ("version: 1\nname: s\nstructure: stacked\nops: [rotate]\nextra_ops: [2, 1]\n", "0 <= low <= high <= 10"),
        ("version: 1\nname: s\nstructure: rand\nops: [rotate]\nbases: [none]\n", "no meaning for structure 'rand'"),
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
