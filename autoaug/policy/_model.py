"""Policies as plain, versioned data: the dataclasses, their validation and the JSON format."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from autoaug.errors import PolicyError
from autoaug.ops import Op, check_op_name, get_op, get_stock_transform
from autoaug.policy._json import dumps
from autoaug.policy._metadata import PolicyMetadata
from autoaug.policy._structures import get_structure
from autoaug.vocabulary import DEFAULT_MODALITY

FORMAT = "autoaug-policy"
VERSION = 2
"""Version 2 names the policy's modality; version-1 files (written before) are image policies."""
_VERSIONS = (1, 2)
_HEADER = ("format", "version", "modality", "name", "structure")
# Optional for every structure; never changes what the policy does.
_OPTIONAL = ("metadata",)
# Bounds on what one input costs and one file holds: a policy file is a few kB.
MAX_NUM_OPS = 10
MAX_STEPS = 64
MAX_POLICY_BYTES = 1_000_000
TOO_LARGE = f"larger than {MAX_POLICY_BYTES:,} bytes, while a policy file takes a few kB (is it the right file?)"


@contextmanager
def _at(prefix: str) -> Iterator[None]:
    """Prefix the message of any PolicyError raised inside with ``prefix`` (a field path)."""
    try:
        yield
    except PolicyError as error:
        raise PolicyError(f"{prefix}{error}") from None


def _too_deep() -> PolicyError:
    return PolicyError("nested too deeply to be a policy (a policy file nests a few levels)")


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _unit(value: Any, path: str) -> float:
    """Return ``value`` as a float in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise PolicyError(f"{path}: expected a number in [0, 1], got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise PolicyError(f"{path}: {value} is outside [0, 1]")
    return float(value)


def _sequence(value: Any, path: str) -> tuple[Any, ...]:
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
        raise PolicyError(f"{path}: expected a list, got {_kind(value)}")
    return tuple(value)


@dataclasses.dataclass(frozen=True)
class OpSpec:
    """One op of a sub-policy, applied with ``probability`` at the normalised ``magnitude``.

    The name must be a registered op; the policy holding the step checks it is one of its modality.

    Example:
        >>> OpSpec("rotate", probability=0.5, magnitude=0.3)
        OpSpec(name='rotate', probability=0.5, magnitude=0.3)
    """

    name: str
    probability: float
    magnitude: float

    def __post_init__(self) -> None:
        with _at("op: "):
            check_op_name(self.name)
        object.__setattr__(self, "probability", _unit(self.probability, "probability"))
        object.__setattr__(self, "magnitude", _unit(self.magnitude, "magnitude"))


@dataclasses.dataclass(frozen=True)
class Policy:
    """An augmentation policy: plain data, validated on construction.

    ``structure`` says how the other fields are read:

    - ``"none"``: no augmentation.
    - ``"subpolicies"`` (AutoAugment): one of ``sub_policies`` is drawn uniformly per image and its
      ops run in order, each with its own probability.
    - ``"rand"`` (RandAugment): ``num_ops`` ops drawn uniformly with replacement from ``ops`` per
      image, all at the shared ``magnitude``.
    - ``"trivial"`` (TrivialAugment): one op drawn from ``ops`` per image at a magnitude drawn
      uniformly in [0, 1].
    - ``"torchvision"``: the stock torchvision transform ``transform`` built with ``kwargs``.
    - ``"stacked"``: the stock transform first (as ``"torchvision"``), then one of ``sub_policies``
      (as ``"subpolicies"``): a free baseline with searched ops on top.

    Fields a structure does not read must keep their defaults (see
    :data:`autoaug.policy.STRUCTURES`). ``modality`` names the kind of data its ops work on; every op
    must be registered for it. ``metadata`` (optional, any structure) records where an exported
    policy came from and how it scored. The modality builds the augmentation
    (:func:`autoaug.load_policy` from a file).

    Example:
        >>> policy = Policy("subpolicies", sub_policies=((OpSpec("downscale", 0.7, 0.8),),), name="low_res")
        >>> policy.modality
        'image'
    """

    structure: str
    sub_policies: tuple[tuple[OpSpec, ...], ...] = ()
    ops: tuple[str, ...] = ()
    num_ops: int = 0
    magnitude: float = 0.0
    transform: str = ""
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    name: str = ""
    metadata: PolicyMetadata | None = None
    modality: str = DEFAULT_MODALITY

    def __post_init__(self) -> None:
        used = get_structure(self.structure).fields
        if not isinstance(self.modality, str) or not self.modality:
            raise PolicyError(f"modality: expected a modality name such as {DEFAULT_MODALITY!r}, got {self.modality!r}")
        if not isinstance(self.name, str):
            raise PolicyError(f"name: expected a string, got {_kind(self.name)}")
        if self.metadata is not None and not isinstance(self.metadata, PolicyMetadata):
            raise PolicyError(f"metadata: expected a PolicyMetadata or None, got {_kind(self.metadata)}")
        self._normalise_fields()
        for field in dataclasses.fields(self):
            if field.name in (*_HEADER, *_OPTIONAL):
                continue
            default = field.default_factory() if callable(field.default_factory) else field.default
            if field.name not in used and getattr(self, field.name) != default:
                raise PolicyError(
                    f"{field.name}: not used by structure {self.structure!r} "
                    f"(it reads {', '.join(used) or 'no other field'})"
                )
        if "sub_policies" in used and not self.sub_policies:
            raise PolicyError("sub_policies: expected at least one sub-policy")
        if "ops" in used and not self.ops:
            raise PolicyError("ops: expected at least one op")
        if "num_ops" in used and self.num_ops < 1:
            raise PolicyError(f"num_ops: expected at least 1, got {self.num_ops}")
        if "num_ops" in used and self.num_ops > MAX_NUM_OPS:
            raise PolicyError(f"num_ops: expected at most {MAX_NUM_OPS}, got {self.num_ops}")
        if "transform" in used:
            self._check_stock_transform()

    def _normalise_fields(self) -> None:
        """Convert sequences to tuples and numbers to floats, copying whatever the caller passed."""
        sub_policies = []
        for i, sub in enumerate(_sequence(self.sub_policies, "sub_policies")):
            specs = _sequence(sub, f"sub_policies[{i}]")
            if not specs:
                raise PolicyError(f"sub_policies[{i}]: expected at least one op")
            if len(specs) > MAX_STEPS:
                raise PolicyError(f"sub_policies[{i}]: {len(specs)} ops, at most {MAX_STEPS} in one sub-policy")
            for j, spec in enumerate(specs):
                if not isinstance(spec, OpSpec):
                    raise PolicyError(f"sub_policies[{i}][{j}]: expected an OpSpec, got {_kind(spec)}")
                with _at(f"sub_policies[{i}][{j}].op: "):
                    get_op(spec.name, self.modality)
            sub_policies.append(specs)
        object.__setattr__(self, "sub_policies", tuple(sub_policies))
        ops = _sequence(self.ops, "ops")
        for i, name in enumerate(ops):
            with _at(f"ops[{i}]: "):
                get_op(name, self.modality)
        object.__setattr__(self, "ops", ops)
        if isinstance(self.num_ops, bool) or not isinstance(self.num_ops, int):
            raise PolicyError(f"num_ops: expected an integer, got {self.num_ops!r}")
        object.__setattr__(self, "magnitude", _unit(self.magnitude, "magnitude"))
        if not isinstance(self.transform, str):
            raise PolicyError(f"transform: expected a string, got {_kind(self.transform)}")
        if not isinstance(self.kwargs, Mapping) or not all(isinstance(key, str) for key in self.kwargs):
            raise PolicyError(f"kwargs: expected an object with string keys, got {self.kwargs!r}")
        try:
            # A JSON round trip copies the caller's dict and keeps file round trips exact.
            kwargs = json.loads(json.dumps(dict(self.kwargs), allow_nan=False))
        except (TypeError, ValueError) as error:
            raise PolicyError(f"kwargs: expected JSON values ({error})") from None
        object.__setattr__(self, "kwargs", kwargs)

    def _check_stock_transform(self) -> None:
        get_stock_transform(self.transform, self.modality).check(self.kwargs)

    def __hash__(self) -> int:
        return hash(self.to_json())

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready dict; every op entry carries its op's real range and sign flag."""
        data: dict[str, Any] = {"format": FORMAT, "version": VERSION, "modality": self.modality}
        data.update(name=self.name, structure=self.structure)
        for key in get_structure(self.structure).fields:
            value = getattr(self, key)
            if key == "sub_policies":
                value = [
                    [_op_entry(spec.name, self.modality, probability=spec.probability, magnitude=spec.magnitude)
                     for spec in sub]
                    for sub in value
                ]
            elif key == "ops":
                value = [_op_entry(name, self.modality) for name in value]
            data[key] = copy.deepcopy(value)
        if self.metadata is not None:
            data["metadata"] = self.metadata.to_dict()
        return data

    def to_json(self) -> str:
        """Return the policy file text (see :meth:`to_dict`)."""
        return dumps(self.to_dict()) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> Policy:
        """Parse and validate a policy dict.

        Magnitudes are read relative to each entry's stored ``range`` and rescaled to the op's
        registered range when the two differ (sub-policies only; a shared magnitude cannot be).

        Args:
            data: A dict as written by :meth:`to_dict`.
            source: Name used at the start of error messages, such as the file name.

        Raises:
            PolicyError: Naming ``source``, the field path and what was expected.
        """
        with _at(f"{source}: "):
            try:
                return _parse_policy(data)
            except RecursionError:
                raise _too_deep() from None

    @classmethod
    def from_json(cls, text: str, source: str = "<string>") -> Policy:
        """Parse policy file text of at most :data:`MAX_POLICY_BYTES` characters; see :meth:`from_dict`."""
        if len(text) > MAX_POLICY_BYTES:
            raise PolicyError(f"{source}: {TOO_LARGE}")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise PolicyError(
                f"{source}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
            ) from None
        except RecursionError:
            raise PolicyError(f"{source}: {_too_deep()}") from None
        return cls.from_dict(data, source)



def _op_entry(name: str, modality: str, **values: float) -> dict[str, Any]:
    op = get_op(name, modality)
    return {"op": name, **values, "range": [op.low, op.high], "signed": op.signed}


def _parse_policy(data: Any) -> Policy:
    if not isinstance(data, Mapping):
        raise PolicyError(f"expected a JSON object, got {_kind(data)}")
    if data.get("format") != FORMAT:
        raise PolicyError(f"format: expected {FORMAT!r}, got {data.get('format')!r} (is this an autoaug policy file?)")
    version = data.get("version")
    if version not in _VERSIONS:
        raise PolicyError(f"version: unsupported version {version!r} (this autoaug reads versions 1 and 2)")
    structure = data.get("structure")
    used = get_structure(structure).fields
    header = _HEADER if version == 2 else tuple(key for key in _HEADER if key != "modality")
    allowed = (*header, *used, *_OPTIONAL)
    for key in data:
        if key not in allowed:
            raise PolicyError(f"{key}: unknown key for structure {structure!r} (allowed: {', '.join(allowed)})")
    if version == 2 and "modality" not in data:
        raise PolicyError(f"modality: missing (version 2 files name their modality, such as {DEFAULT_MODALITY!r})")
    modality = data.get("modality", DEFAULT_MODALITY)
    if not isinstance(modality, str):
        raise PolicyError(f"modality: expected a modality name such as {DEFAULT_MODALITY!r}, got {modality!r}")
    for key in used:
        if key not in data:
            raise PolicyError(f"{key}: missing (structure {structure!r} needs {', '.join(used)})")
    fields = {key: data[key] for key in used}
    if "sub_policies" in fields:
        fields["sub_policies"] = tuple(
            tuple(
                _parse_op_spec(entry, f"sub_policies[{i}][{j}]", modality)
                for j, entry in enumerate(_sequence(sub, f"sub_policies[{i}]"))
            )
            for i, sub in enumerate(_sequence(fields["sub_policies"], "sub_policies"))
        )
    if "ops" in fields:
        fields["ops"] = tuple(
            _parse_pool_entry(entry, f"ops[{i}]", modality) for i, entry in enumerate(_sequence(fields["ops"], "ops"))
        )
    metadata = PolicyMetadata.from_dict(data["metadata"]) if "metadata" in data else None
    return Policy(structure=structure, name=data.get("name", ""), metadata=metadata, modality=modality, **fields)


def _parse_entry(
    entry: Any, path: str, keys: tuple[str, ...], modality: str
) -> tuple[Op, tuple[float, float] | None]:
    """Check an op entry's keys, op name and sign flag; return the op and the stored range, if any."""
    if not isinstance(entry, Mapping):
        raise PolicyError(f"{path}: expected an object with keys {', '.join(keys)}, got {_kind(entry)}")
    with _at(f"{path}."):
        allowed = (*keys, "range", "signed")
        for key in entry:
            if key not in allowed:
                raise PolicyError(f"{key}: unknown key (allowed: {', '.join(allowed)})")
        for key in keys:
            if key not in entry:
                raise PolicyError(f"{key}: missing")
        with _at("op: "):
            op = get_op(entry["op"], modality)
        if "signed" in entry and entry["signed"] is not op.signed:
            raise PolicyError(f"signed: the file says {entry['signed']!r} but op {op.name!r} has signed={op.signed}")
        stored = entry.get("range")
        if stored is None:
            return op, None
        if (
            not isinstance(stored, list)
            or len(stored) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in stored)
        ):
            raise PolicyError(f"range: expected [low, high] as two numbers, got {stored!r}")
        if not op.uses_magnitude or (stored[0], stored[1]) == (op.low, op.high):
            return op, None
        return op, (float(stored[0]), float(stored[1]))


def _parse_op_spec(entry: Any, path: str, modality: str) -> OpSpec:
    op, stored = _parse_entry(entry, path, ("op", "probability", "magnitude"), modality)
    with _at(f"{path}."):
        magnitude = entry["magnitude"]
        if stored is not None:
            value = stored[0] + _unit(magnitude, "magnitude") * (stored[1] - stored[0])
            rescaled = (value - op.low) / (op.high - op.low)
            if not -1e-9 <= rescaled <= 1 + 1e-9:
                raise PolicyError(
                    f"range: magnitude {magnitude} of the stored range {list(stored)} is {value:g}, "
                    f"outside the range [{op.low:g}, {op.high:g}] of op {op.name!r}"
                )
            magnitude = min(max(rescaled, 0.0), 1.0)
        return OpSpec(op.name, entry["probability"], magnitude)


def _parse_pool_entry(entry: Any, path: str, modality: str) -> str:
    op, stored = _parse_entry(entry, path, ("op",), modality)
    if stored is not None:
        raise PolicyError(
            f"{path}.range: the stored range {list(stored)} differs from the range [{op.low:g}, {op.high:g}] "
            f"of op {op.name!r}; a shared magnitude cannot be rescaled"
        )
    return op.name
