"""Policies as plain, versioned data: the dataclasses, their validation and the JSON file format."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torchvision.transforms import v2

from autoaug.errors import PolicyError
from autoaug.ops import Op, get_op
from autoaug.policy._metadata import PolicyMetadata

if TYPE_CHECKING:
    from autoaug.modalities.image._transform import PolicyTransform

FORMAT = "autoaug-policy"
VERSION = 1
TORCHVISION_TRANSFORMS = ("TrivialAugmentWide", "RandAugment", "AutoAugment", "AugMix")
# The fields each structure reads; every other field must keep its default.
_FIELDS: dict[str, tuple[str, ...]] = {
    "none": (),
    "subpolicies": ("sub_policies",),
    "rand": ("ops", "num_ops", "magnitude"),
    "trivial": ("ops",),
    "torchvision": ("transform", "kwargs"),
    "stacked": ("transform", "kwargs", "sub_policies"),
}
_HEADER = ("format", "version", "name", "structure")
# Optional for every structure; never changes what the policy does.
_OPTIONAL = ("metadata",)
_ONE_LINE_KEYS = 6  # op entries and stock-transform kwargs stay on one line, metadata does not
# Bounds on what one image costs and one file holds: a policy file is a few kB.
MAX_NUM_OPS = 10
MAX_STEPS = 64
MAX_POLICY_BYTES = 1_000_000
_TOO_LARGE = f"larger than {MAX_POLICY_BYTES:,} bytes, while a policy file takes a few kB (is it the right file?)"
# The whole-number arguments of the stock transforms and their real ranges (inclusive); torchvision checks
# few of them, and a huge count or bin number hangs or exhausts memory at the first image. RandAugment's
# magnitude is a bin index: 0 to num_magnitude_bins - 1. AugMix's chain_depth -1 draws a depth of 1 to 3.
_STOCK_WHOLE = {
    "RandAugment": {"num_ops": (1, MAX_NUM_OPS), "num_magnitude_bins": (2, 100)},
    "TrivialAugmentWide": {"num_magnitude_bins": (2, 100)},
    "AugMix": {"severity": (1, 10), "mixture_width": (1, 10), "chain_depth": (-1, 10)},
}
_DEFAULT_BINS = 31


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


def _check_structure(structure: Any) -> str:
    if not isinstance(structure, str) or structure not in _FIELDS:
        raise PolicyError(f"structure: expected one of {', '.join(_FIELDS)}, got {structure!r}")
    return structure


def _sequence(value: Any, path: str) -> tuple[Any, ...]:
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
        raise PolicyError(f"{path}: expected a list, got {_kind(value)}")
    return tuple(value)


def _whole_in(value: Any, low: int, high: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and low <= value <= high


def _number_in(value: Any, low: float, high: float) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and low <= value <= high


def _check_stock_arguments(name: str, kwargs: Mapping[str, Any]) -> None:
    """Bound every argument of the stock transform ``name`` to its real range."""
    whole = dict(_STOCK_WHOLE.get(name, {}))
    if name == "RandAugment":
        bins = kwargs.get("num_magnitude_bins", _DEFAULT_BINS)
        whole["magnitude"] = (0, bins - 1 if _whole_in(bins, 2, 100) else _DEFAULT_BINS - 1)
    for key, (low, high) in whole.items():
        if key in kwargs and not _whole_in(kwargs[key], low, high):
            raise PolicyError(
                f"kwargs.{key}: expected a whole number from {low} to {high} for {name}, got {kwargs[key]!r}"
            )
    alpha = kwargs.get("alpha", 1.0)
    if name == "AugMix" and not (_number_in(alpha, 0, 100) and alpha > 0):
        raise PolicyError(f"kwargs.alpha: expected a number from 0 (excluded) to 100, got {alpha!r}")
    if "all_ops" in kwargs and not isinstance(kwargs["all_ops"], bool):
        raise PolicyError(f"kwargs.all_ops: expected true or false, got {kwargs['all_ops']!r}")
    fill = kwargs.get("fill")
    values = fill if isinstance(fill, list) and len(fill) in (1, 3) else [fill]
    if fill is not None and not all(_number_in(value, 0, 255) for value in values):
        raise PolicyError(
            f"kwargs.fill: expected null, a number or a list of 1 or 3 numbers from 0 to 255, got {fill!r}"
        )


def make_stock_transform(name: str, kwargs: dict[str, Any]) -> v2.Transform:
    """Instantiate the torchvision auto-augment transform ``name`` from JSON-style keyword arguments."""
    if name == "AutoAugment" and "policy" in kwargs:
        kwargs = {**kwargs, "policy": v2.AutoAugmentPolicy(kwargs["policy"])}
    return getattr(v2, name)(**kwargs)


@dataclasses.dataclass(frozen=True)
class OpSpec:
    """One op of a sub-policy, applied with ``probability`` at the normalised ``magnitude``.

    Example:
        >>> OpSpec("rotate", probability=0.5, magnitude=0.3)
        OpSpec(name='rotate', probability=0.5, magnitude=0.3)
    """

    name: str
    probability: float
    magnitude: float

    def __post_init__(self) -> None:
        with _at("op: "):
            get_op(self.name)
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

    Fields a structure does not read must keep their defaults. ``metadata`` (optional, any
    structure) records where an exported policy came from and how it scored.

    Example:
        >>> policy = Policy("subpolicies", sub_policies=((OpSpec("downscale", 0.7, 0.8),),), name="low_res")
        >>> transform = policy.build()
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

    def __post_init__(self) -> None:
        _check_structure(self.structure)
        if not isinstance(self.name, str):
            raise PolicyError(f"name: expected a string, got {_kind(self.name)}")
        if self.metadata is not None and not isinstance(self.metadata, PolicyMetadata):
            raise PolicyError(f"metadata: expected a PolicyMetadata or None, got {_kind(self.metadata)}")
        self._normalise_fields()
        used = _FIELDS[self.structure]
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
            sub_policies.append(specs)
        object.__setattr__(self, "sub_policies", tuple(sub_policies))
        ops = _sequence(self.ops, "ops")
        for i, name in enumerate(ops):
            with _at(f"ops[{i}]: "):
                get_op(name)
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
        if self.transform not in TORCHVISION_TRANSFORMS:
            raise PolicyError(f"transform: expected one of {', '.join(TORCHVISION_TRANSFORMS)}, got {self.transform!r}")
        _check_stock_arguments(self.transform, self.kwargs)
        try:
            make_stock_transform(self.transform, self.kwargs)
        except (TypeError, ValueError) as error:
            raise PolicyError(f"kwargs: torchvision's {self.transform} rejects {self.kwargs}: {error}") from None

    def __hash__(self) -> int:
        return hash(self.to_json())

    def build(self, generator: torch.Generator | None = None) -> PolicyTransform:
        """Return the policy as a torchvision v2 transform.

        Args:
            generator: Source of every random draw; a seeded one reproduces the output exactly.
                None uses torch's global generator (which DataLoader seeds per worker).
        """
        # Imported here because the transform module builds on this one.
        from autoaug.modalities.image._transform import PolicyTransform

        return PolicyTransform(self, generator=generator)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready dict; every op entry carries its op's real range and sign flag."""
        data: dict[str, Any] = {"format": FORMAT, "version": VERSION, "name": self.name, "structure": self.structure}
        for key in _FIELDS[self.structure]:
            value = getattr(self, key)
            if key == "sub_policies":
                value = [
                    [_op_entry(spec.name, probability=spec.probability, magnitude=spec.magnitude) for spec in sub]
                    for sub in value
                ]
            elif key == "ops":
                value = [_op_entry(name) for name in value]
            data[key] = copy.deepcopy(value)
        if self.metadata is not None:
            data["metadata"] = self.metadata.to_dict()
        return data

    def to_json(self) -> str:
        """Return the policy file text (see :meth:`to_dict`)."""
        return _dumps(self.to_dict()) + "\n"

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
            raise PolicyError(f"{source}: {_TOO_LARGE}")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise PolicyError(
                f"{source}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
            ) from None
        except RecursionError:
            raise PolicyError(f"{source}: {_too_deep()}") from None
        return cls.from_dict(data, source)



def _dumps(value: Any, indent: int = 0) -> str:
    """Indented JSON that keeps each value holding no object, such as an op entry, on one line.

    Objects of more than :data:`_ONE_LINE_KEYS` keys (the metadata) get a line per key instead.
    """
    if indent and not _holds_object(value) and not (isinstance(value, dict) and len(value) > _ONE_LINE_KEYS):
        return json.dumps(value)
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(key)}: {_dumps(item, indent + 2)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + _dumps(item, indent + 2) for item in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def _holds_object(value: Any) -> bool:
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return any(isinstance(child, dict) or _holds_object(child) for child in children)


def _op_entry(name: str, **values: float) -> dict[str, Any]:
    op = get_op(name)
    return {"op": name, **values, "range": [op.low, op.high], "signed": op.signed}


def _parse_policy(data: Any) -> Policy:
    if not isinstance(data, Mapping):
        raise PolicyError(f"expected a JSON object, got {_kind(data)}")
    if data.get("format") != FORMAT:
        raise PolicyError(f"format: expected {FORMAT!r}, got {data.get('format')!r} (is this an autoaug policy file?)")
    if data.get("version") != VERSION:
        raise PolicyError(
            f"version: unsupported version {data.get('version')!r} (this autoaug reads version {VERSION})"
        )
    structure = _check_structure(data.get("structure"))
    allowed = (*_HEADER, *_FIELDS[structure], *_OPTIONAL)
    for key in data:
        if key not in allowed:
            raise PolicyError(f"{key}: unknown key for structure {structure!r} (allowed: {', '.join(allowed)})")
    for key in _FIELDS[structure]:
        if key not in data:
            raise PolicyError(f"{key}: missing (structure {structure!r} needs {', '.join(_FIELDS[structure])})")
    fields = {key: data[key] for key in _FIELDS[structure]}
    if "sub_policies" in fields:
        fields["sub_policies"] = tuple(
            tuple(
                _parse_op_spec(entry, f"sub_policies[{i}][{j}]")
                for j, entry in enumerate(_sequence(sub, f"sub_policies[{i}]"))
            )
            for i, sub in enumerate(_sequence(fields["sub_policies"], "sub_policies"))
        )
    if "ops" in fields:
        fields["ops"] = tuple(
            _parse_pool_entry(entry, f"ops[{i}]") for i, entry in enumerate(_sequence(fields["ops"], "ops"))
        )
    metadata = PolicyMetadata.from_dict(data["metadata"]) if "metadata" in data else None
    return Policy(structure=structure, name=data.get("name", ""), metadata=metadata, **fields)


def _parse_entry(entry: Any, path: str, keys: tuple[str, ...]) -> tuple[Op, tuple[float, float] | None]:
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
            op = get_op(entry["op"])
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


def _parse_op_spec(entry: Any, path: str) -> OpSpec:
    op, stored = _parse_entry(entry, path, ("op", "probability", "magnitude"))
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


def _parse_pool_entry(entry: Any, path: str) -> str:
    op, stored = _parse_entry(entry, path, ("op",))
    if stored is not None:
        raise PolicyError(
            f"{path}.range: the stored range {list(stored)} differs from the range [{op.low:g}, {op.high:g}] "
            f"of op {op.name!r}; a shared magnitude cannot be rescaled"
        )
    return op.name


def describe(policy: Policy) -> str:
    """Summarise a policy on one line.

    Example:
        >>> sub_policy = (OpSpec("downscale", 0.7, 0.8), OpSpec("equalize", 0.5, 0.0))
        >>> describe(Policy("subpolicies", sub_policies=(sub_policy,)))
        'subpolicies: [downscale(p=0.7,m=0.8) > equalize(p=0.5)]'
    """
    subs = " | ".join("[" + " > ".join(_describe_spec(spec) for spec in sub) + "]" for sub in policy.sub_policies)
    if policy.structure == "subpolicies":
        return "subpolicies: " + subs
    if policy.structure == "stacked":
        return f"stacked: {_describe_stock(policy)} + {subs}"
    pool = "{" + ", ".join(policy.ops) + "}"
    if policy.structure == "rand":
        return f"rand: {policy.num_ops} ops from {pool} at m={policy.magnitude:.2g}"
    if policy.structure == "trivial":
        return f"trivial: 1 op from {pool} at a uniformly drawn m"
    if policy.structure == "torchvision":
        return f"torchvision: {_describe_stock(policy)}"
    return "none"


def _describe_stock(policy: Policy) -> str:
    arguments = ", ".join(f"{key}={value!r}" for key, value in policy.kwargs.items())
    return f"{policy.transform}({arguments})"


def _describe_spec(spec: OpSpec) -> str:
    if get_op(spec.name).uses_magnitude:
        return f"{spec.name}(p={spec.probability:.2g},m={spec.magnitude:.2g})"
    return f"{spec.name}(p={spec.probability:.2g})"


def save_policy(policy: Policy, path: str | Path) -> None:
    """Write ``policy`` as a JSON policy file."""
    Path(path).write_text(policy.to_json(), encoding="utf-8")


def read_policy(path: str | Path) -> Policy:
    """Read and validate a JSON policy file.

    Raises:
        PolicyError: If the file cannot be read, is larger than :data:`MAX_POLICY_BYTES`, or is not a valid
            policy; the message names the file.
    """
    try:
        with Path(path).open("rb") as file:
            raw = file.read(MAX_POLICY_BYTES + 1)  # never more: the file may be anything
        if len(raw) > MAX_POLICY_BYTES:
            raise PolicyError(f"{path}: {_TOO_LARGE}")
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError(f"{path}: cannot read the policy file ({error})") from None
    return Policy.from_json(text, source=str(path))


def load_policy(path: str | Path) -> PolicyTransform:
    """Read a JSON policy file and return it as a torchvision v2 transform.

    Example:
        >>> transform = load_policy("best.json")  # doctest: +SKIP
        >>> augmented = transform(pil_image)  # doctest: +SKIP
    """
    return read_policy(path).build()
