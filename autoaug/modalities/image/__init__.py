"""The image modality: image data, timm backbones, torchvision v2 transforms; registered as ``"image"``."""

from __future__ import annotations

from autoaug.modalities.image._backbone import PretrainedWeights, build_model, check_model_name, resolve_weights
from autoaug.modalities.image._baselines import CLASSIC_OPS, baseline_policies
from autoaug.modalities.image._modality import ImageModality
from autoaug.modalities.image._preview import preview_images, render_grid
from autoaug.modalities.image._reference import (
    PolicyMeter,
    Reference,
    fit_reference,
    load_reference,
    reference_key,
    save_reference,
)
from autoaug.modalities.image._snippet import policy_to_snippet
from autoaug.modalities.image._train import finetune, finetune_and_test, infer, predict, score
from autoaug.modalities.image._transform import PolicyTransform

__all__ = [
    "CLASSIC_OPS",
    "ImageModality",
    "PolicyMeter",
    "PolicyTransform",
    "PretrainedWeights",
    "Reference",
    "baseline_policies",
    "build_model",
    "check_model_name",
    "finetune",
    "finetune_and_test",
    "fit_reference",
    "infer",
    "load_reference",
    "policy_to_snippet",
    "predict",
    "preview_images",
    "reference_key",
    "render_grid",
    "resolve_weights",
    "save_reference",
    "score",
]
