"""Reading versioned YAML files into validated, frozen pydantic models with readable errors."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import pydantic
import yaml

from autoaug.errors import AutoaugError

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


class FrozenModel(pydantic.BaseModel):
    """Base for configuration models: immutable, and unknown keys are errors."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")


def describe_validation_error(exc: pydantic.ValidationError, source: str) -> str:
    """Turn a pydantic error into lines of ``source: field.path: problem``."""
    lines = []
    for error in exc.errors():
        path = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{source}: {path}: {message}")
    return "\n".join(lines)


def validate(
    model: type[ModelT], data: Any, source: str, error: type[AutoaugError], allowed: Iterable[str] | None = None
) -> ModelT:
    """Validate ``data`` into ``model``, raising ``error`` that names the source and each bad field.

    The message lists the ``allowed`` keys (default: the model's fields).
    """
    if not isinstance(data, dict):
        raise error(f"{source}: expected a mapping of keys to values, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        keys = ", ".join(model.model_fields if allowed is None else allowed)
        raise error(f"{describe_validation_error(exc, source)}\n(allowed keys: {keys})") from None


def read_yaml(path: Path, error: type[AutoaugError]) -> Any:
    """Parse a YAML file, raising ``error`` with the file name on any read or syntax problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read file ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{path}: invalid YAML: {exc}") from None
