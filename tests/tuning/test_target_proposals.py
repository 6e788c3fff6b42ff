"""Target matching in a search: a chain becomes proposals of the stacked space, which then draws its ops from the closest."""

from __future__ import annotations

import optuna
import pytest

from autoaug.errors import SpaceError
from autoaug.modalities import TargetMatch, get_modality
from autoaug.policy import OpSpec, Policy
from autoaug.tuning import SearchSpace
from autoaug.tuning._target_match import PROBABILITIES, proposal_params, why_unfit
from autoaug.vocabulary import TARGET_MATCH_ATTR

OPS = ("rotate", "invert", "gaussian_blur", "hflip")


def test_a_chain_becomes_points_of_the_stacked_space_at_each_probability() -> None:
    space = SearchSpace(name="st", structure="stacked", ops=OPS, probability=(0.1, 0.6))
    match = TargetMatch((("gaussian_blur", 1.0), ("rotate", 0.5)), clean=0.8, floor=0.1, matched=0.4, singles=())
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    for probability in PROBABILITIES:
        study.enqueue_trial(proposal_params(space, match, probability), user_attrs={TARGET_MATCH_ATTR: probability})
    for probability in PROBABILITIES:
        trial = study.ask()
        clipped = min(probability, 0.6)  # the space's probability range holds the proposal
        expected = Policy(
            "subpolicies", sub_policies=((OpSpec("gaussian_blur", clipped, 1.0), OpSpec("rotate", clipped, 0.5)),)
        )
        assert space.suggest(trial) == expected and trial.user_attrs[TARGET_MATCH_ATTR] == probability
        study.tell(trial, 0.5)


def test_spaces_and_modalities_that_cannot_hold_a_chain_say_why() -> None:
    image = get_modality("image")
    assert "'sequence'" in why_unfit(SearchSpace(name="s", structure="sequence", ops=OPS), image)
    assert "'none'" in why_unfit(SearchSpace(name="s", structure="stacked", ops=OPS, bases=("rand_augment",)), image)
    assert "no extra op" in why_unfit(SearchSpace(name="s", structure="stacked", ops=OPS, extra_ops=(0, 0)), image)
    assert why_unfit(SearchSpace(name="s", structure="stacked", ops=OPS), image) == ""
    # known before any Ray task starts: the embedding modality measures no single op against the target
    space = SearchSpace(name="e", structure="stacked", ops=("gaussian_noise",), modality="embedding", bases=("none",))
    assert why_unfit(space, get_modality("embedding")) == "the embedding modality does not match targets"


def test_a_narrowed_space_draws_only_the_given_ops_and_keeps_its_baseline_points() -> None:
    space = SearchSpace(name="st", structure="stacked", ops=OPS)
    narrowed = space.with_ops(("hflip", "gaussian_blur"))
    assert narrowed.ops == ("gaussian_blur", "hflip")  # the space's own order
    assert narrowed.baseline_point("none") == space.baseline_point("none")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    drawn = {spec.name for _ in range(30) for sub in narrowed.suggest(study.ask()).sub_policies for spec in sub}
    assert drawn == {"gaussian_blur", "hflip"}
    with pytest.raises(SpaceError, match="expected some of its ops"):
        space.with_ops(("jpeg",))
    with pytest.raises(SpaceError, match="expected some of its ops"):
        space.with_ops(())
