"""The modality registry: the built-in image modality by name, close names suggested, names taken once."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoaug import load_policy
from autoaug.errors import ConfigError
from autoaug.modalities import Modality, get_modality, list_modalities, register_modality
from autoaug.modalities.image import ImageModality, PolicyTransform, baseline_policies
from autoaug.policy import Policy, save_policy


def test_the_image_modality_is_built_in() -> None:
    assert "image" in list_modalities()
    image = get_modality("image")
    assert isinstance(image, ImageModality) and image.name == "image"
    assert image.baselines() == baseline_policies()


def test_an_unknown_modality_names_the_close_and_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown modality 'imag' \(did you mean 'image'\?\); known: .*image"):
        get_modality("imag")


def test_a_taken_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="modality 'image' is already registered"):
        register_modality("image")(ImageModality)


def test_baselines_are_selected_by_name_and_unknown_ones_listed() -> None:
    image: Modality = get_modality("image")
    assert list(image.select_baselines(["rand_augment", "none"])) == ["rand_augment", "none"]
    with pytest.raises(ConfigError, match="baselines: unknown 'autoaugment'; choose from none, trivial_augment_wide"):
        image.select_baselines(["autoaugment"])


def test_load_policy_builds_with_the_modality_the_file_names(tmp_path: Path) -> None:
    save_policy(Policy("trivial", ops=("rotate",)), tmp_path / "image.json")
    assert isinstance(load_policy(tmp_path / "image.json"), PolicyTransform)
    save_policy(Policy("none", modality="audio"), tmp_path / "audio.json")
    with pytest.raises(ConfigError, match="unknown modality 'audio'"):
        load_policy(tmp_path / "audio.json")
