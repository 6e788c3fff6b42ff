"""The modality registry: ``register_modality`` fills it, ``get_modality`` and ``list_modalities`` read it."""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Callable

from autoaug.errors import ConfigError, did_you_mean
from autoaug.modalities._base import Modality

_MODALITIES: dict[str, Modality] = {}
# Built-in modalities, registered when their module is first imported.
_BUILTIN = {"embedding": "autoaug.modalities.embedding", "image": "autoaug.modalities.image"}

ModalityClass = type[Modality]


def register_modality(name: str) -> Callable[[ModalityClass], ModalityClass]:
    """Register a :class:`Modality` subclass under ``name``; use it as a class decorator.

    The class is instantiated once, without arguments. Its ops (:func:`autoaug.ops.register_op` with
    ``modality=name``) and tasks (:func:`autoaug.tasks.register_task`) are registered apart.

    Raises:
        ConfigError: If the name is taken.

    Example:
        >>> from autoaug.modalities import Modality
        >>> @register_modality("audio")  # doctest: +SKIP
        ... class AudioModality(Modality):
        ...     ...
    """
    if not name or not isinstance(name, str):
        raise ConfigError(f"modality name must be a non-empty string, got {name!r}")

    def decorator(cls: ModalityClass) -> ModalityClass:
        if name in _MODALITIES:
            raise ConfigError(f"modality {name!r} is already registered ({type(_MODALITIES[name]).__qualname__})")
        cls.name = name
        _MODALITIES[name] = cls()
        return cls

    return decorator


def get_modality(name: str) -> Modality:
    """Return the modality registered as ``name`` (a built-in one is imported on first use).

    Raises:
        ConfigError: If there is none; the message names close matches and the known modalities.

    Example:
        >>> get_modality("image").name
        'image'
    """
    if name not in _MODALITIES and name in _BUILTIN:
        importlib.import_module(_BUILTIN[name])
    if name in _MODALITIES:
        return _MODALITIES[name]
    known = list_modalities()
    raise ConfigError(
        f"unknown modality {name!r}{did_you_mean(name, known)}; known: {', '.join(known)}; "
        "register one with autoaug.modalities.register_modality"
    )


def list_modalities(pattern: str = "*") -> list[str]:
    """The names of the registered and built-in modalities matching the glob ``pattern``, sorted.

    Example:
        >>> list_modalities()
        ['embedding', 'image']
    """
    return sorted(name for name in {*_BUILTIN, *_MODALITIES} if fnmatch.fnmatchcase(name, pattern))
