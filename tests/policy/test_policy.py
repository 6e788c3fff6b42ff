"""Policies: validation, the JSON file format, the built transform and the baselines."""

from __future__ import annotations

import json
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import PIL.Image
import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from autoaug import load_policy
from autoaug.errors import PolicyError
from autoaug.modalities.image import CLASSIC_OPS, PolicyTransform, baseline_policies
from autoaug.ops import Op, _registry, get_op, list_ops, register_op
from autoaug.policy import OpSpec, Policy, describe, read_policy, save_policy

# Per-image ops on tiny tensors run far slower with several intra-op threads.
torch.set_num_threads(1)

# Built-in ops only: other test modules may register ops of their own when they are collected.
BUILTIN_OPS = [op for op in list_ops() if op.kernel.__module__.startswith("autoaug.ops.")]
SUBPOLICIES = Policy(
    "subpolicies",
    sub_policies=(
        (OpSpec("downscale", 0.7, 0.8), OpSpec("gaussian_blur", 0.5, 0.4)),
        (OpSpec("rotate", 0.5, 0.3), OpSpec("equalize", 0.6, 0.0)),
    ),
    name="low_res",
)
EXAMPLES = {
    "subpolicies": SUBPOLICIES,
    "rand": Policy("rand", ops=CLASSIC_OPS, num_ops=2, magnitude=0.45, name="rand"),
    "trivial": Policy("trivial", ops=("rotate", "jpeg", "gaussian_noise")),
    **baseline_policies(),
    "augmix": Policy("torchvision", transform="AugMix", kwargs={"severity": 2, "all_ops": False}),
}


def random_image(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def single_op(name: str, magnitude: float = 1.0) -> Policy:
    return Policy("subpolicies", sub_policies=((OpSpec(name, 1.0, magnitude),),))


def seeded(policy: Policy, seed: int = 0) -> PolicyTransform:
    return PolicyTransform(policy, generator=torch.Generator().manual_seed(seed))


def loose(value: object) -> Any:
    """Pass a value of the wrong static type, as a careless caller might."""
    return value


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a test register ops without leaking them into other tests."""
    monkeypatch.setattr(_registry, "_OPS", dict(_registry._OPS))


def stripes(image: torch.Tensor, width: float, generator: torch.Generator | None) -> torch.Tensor:
    """A user op: black out every other column band of ``round(width)`` pixels."""
    output = image.clone()
    band = max(1, round(width))
    for left in range(0, image.shape[-1], 2 * band):
        output[..., left : left + band] = 0
    return output


# --- the transform --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(32, 32), (40, 24)], ids=["32x32", "40x24"])
@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("op", BUILTIN_OPS, ids=lambda op: op.name)
def test_every_op_keeps_a_pil_image_a_pil_image(op: Op, mode: str, size: tuple[int, int]) -> None:
    channels = 3 if mode == "RGB" else 1
    image = PIL.Image.fromarray(random_image(size[1], size[0], channels).squeeze(-1).numpy(), mode=mode)
    output = seeded(single_op(op.name))(image)
    assert isinstance(output, PIL.Image.Image)
    assert (output.mode, output.size) == (mode, size)


@pytest.mark.parametrize("op", BUILTIN_OPS, ids=lambda op: op.name)
def test_every_op_keeps_tensor_types(op: Op) -> None:
    transform = seeded(single_op(op.name))
    plain = transform(random_image(1, 24, 40))
    wrapped = transform(tv_tensors.Image(random_image(3, 32, 32)))
    assert type(plain) is torch.Tensor and plain.shape == (1, 24, 40) and plain.dtype == torch.uint8
    assert isinstance(wrapped, tv_tensors.Image) and wrapped.shape == (3, 32, 32)


@pytest.mark.parametrize("name", EXAMPLES)
def test_seeded_generator_reproduces_every_structure(name: str) -> None:
    image = random_image(3, 32, 32)
    torch.manual_seed(1)
    first = [seeded(EXAMPLES[name], seed=7)(image) for _ in range(3)]
    torch.manual_seed(2)  # the global generator must not matter
    second = [seeded(EXAMPLES[name], seed=7)(image) for _ in range(3)]
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))


def test_batch_gets_an_independent_draw_per_sample() -> None:
    batch = random_image(1, 3, 32, 32).expand(16, -1, -1, -1)
    output = seeded(Policy("trivial", ops=("rotate", "invert", "posterize")))(batch)
    assert output.shape == batch.shape
    assert len({tuple(sample.flatten().tolist()) for sample in output}) > 3


def test_stock_transforms_also_draw_per_sample() -> None:
    batch = random_image(1, 3, 32, 32).expand(16, -1, -1, -1)
    output = seeded(baseline_policies()["trivial_augment_wide"])(batch)
    assert len({tuple(sample.flatten().tolist()) for sample in output}) > 3


def test_labels_pass_through() -> None:
    image, label = seeded(single_op("invert"))((random_image(3, 8, 8), 3))
    assert label == 3 and image.shape == (3, 8, 8)


def test_make_params_draws_and_transform_replays() -> None:
    transform = seeded(Policy("rand", ops=("rotate", "shear_x", "posterize"), num_ops=2, magnitude=0.5))
    image = random_image(3, 32, 32)
    params = transform.make_params([image])
    assert torch.equal(transform.transform(image, params), transform.transform(image, params))


def test_probabilities_zero_and_one() -> None:
    image = random_image(3, 16, 16)
    never = Policy("subpolicies", sub_policies=((OpSpec("invert", 0.0, 0.0),),))
    always = Policy("subpolicies", sub_policies=((OpSpec("invert", 1.0, 0.0),),))
    assert torch.equal(seeded(never)(image), image)
    assert torch.equal(seeded(always)(image), 255 - image)


def test_rand_applies_num_ops_ops() -> None:
    image = random_image(3, 16, 16)
    assert torch.equal(seeded(Policy("rand", ops=("invert",), num_ops=2, magnitude=0.0))(image), image)
    assert torch.equal(seeded(Policy("rand", ops=("invert",), num_ops=3, magnitude=0.0))(image), 255 - image)


def test_trivial_draws_magnitudes_across_the_range_with_both_signs() -> None:
    transform = seeded(Policy("trivial", ops=("rotate",)))
    values = [ops[0][1] for _, ops in transform.make_params([random_image(64, 3, 8, 8)])["draws"]]
    assert min(values) < -20 and max(values) > 20 and all(abs(value) <= 30 for value in values)


def test_stacked_runs_the_stock_transform_then_the_ops_and_round_trips() -> None:
    policy = Policy("stacked", transform="RandAugment", kwargs={"num_ops": 2, "magnitude": 9},
                    sub_policies=((OpSpec("invert", 1.0, 0.0),),))
    assert Policy.from_json(policy.to_json()) == policy
    image = random_image(1, 3, 8, 8)[0]  # one image: its stock seed is the first draw either way
    stock = seeded(Policy("torchvision", transform="RandAugment", kwargs={"num_ops": 2, "magnitude": 9}))(image)
    assert torch.equal(seeded(policy)(image), 255 - stock)  # the same stock draws, then the op on top
    with pytest.raises(PolicyError, match="sub_policies"):
        Policy("stacked", transform="RandAugment")
    with pytest.raises(PolicyError, match="transform"):
        Policy("stacked", transform="Sideways", sub_policies=((OpSpec("invert", 1.0, 0.0),),))


def test_subpolicies_draw_each_sub_policy() -> None:
    policy = Policy("subpolicies", sub_policies=((OpSpec("hflip", 1.0, 0.0),), (OpSpec("vflip", 1.0, 0.0),)))
    draws = seeded(policy).make_params([random_image(64, 1, 4, 4)])["draws"]
    assert {ops[0][0] for _, ops in draws} == {0, 1}


@pytest.mark.parametrize(
    ("inpt", "expected"),
    [
        (torch.zeros(3, 8, 8), "expected a uint8 image tensor, got torch.float32; apply the policy before ToDtype"),
        (torch.zeros(2, 8, 8, dtype=torch.uint8), "with C = 1 or 3, got [2, 8, 8]"),
        (PIL.Image.new("RGBA", (8, 8)), "use image.convert('RGB')"),
    ],
    ids=["float", "two_channels", "rgba"],
)
def test_unsupported_inputs_raise_a_hint(inpt: Any, expected: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(expected)):
        PolicyTransform(SUBPOLICIES)(inpt)


def test_masks_are_refused() -> None:
    mask = tv_tensors.Mask(torch.zeros(8, 8, dtype=torch.uint8))
    with pytest.raises(PolicyError, match="Mask inputs are not supported"):
        PolicyTransform(SUBPOLICIES)(tv_tensors.Image(random_image(3, 8, 8)), mask)


@pytest.mark.parametrize("name", ["trivial", "rand_augment"])
def test_transform_survives_pickling_for_workers(name: str) -> None:
    transform = seeded(EXAMPLES[name])
    copy = pickle.loads(pickle.dumps(transform))
    image = random_image(3, 16, 16)
    assert torch.equal(copy(image), transform(image))


def test_transform_repr_describes_the_policy() -> None:
    assert "downscale(p=0.7,m=0.8)" in repr(PolicyTransform(SUBPOLICIES))


# --- baselines ------------------------------------------------------------------------------------


def test_baselines_are_the_four_references() -> None:
    assert list(baseline_policies()) == ["none", "trivial_augment_wide", "rand_augment", "auto_augment"]
    assert {name: policy.name for name, policy in baseline_policies().items()} == {
        name: name for name in baseline_policies()
    }


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("trivial_augment_wide", v2.TrivialAugmentWide()),
        ("rand_augment", v2.RandAugment(num_ops=2, magnitude=9)),
        ("auto_augment", v2.AutoAugment(v2.AutoAugmentPolicy.IMAGENET)),
    ],
)
def test_baselines_match_torchvision_exactly(name: str, reference: v2.Transform) -> None:
    transform = PolicyTransform(baseline_policies()[name])
    for seed in range(5):
        image = random_image(3, 32, 32, seed=seed)
        torch.manual_seed(seed)
        ours = transform(image)
        torch.manual_seed(seed)
        assert torch.equal(ours, reference(image))


def test_none_baseline_returns_the_input() -> None:
    image = random_image(3, 8, 8)
    assert torch.equal(PolicyTransform(baseline_policies()["none"])(image), image)


def test_classic_ops_are_registered_and_unique() -> None:
    assert len(set(CLASSIC_OPS)) == len(CLASSIC_OPS) == 14
    for name in CLASSIC_OPS:
        get_op(name)


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: OpSpec("rotat", 0.5, 0.5), "op: unknown op 'rotat' (did you mean 'rotate'?)"),
        (lambda: OpSpec("rotate", 1.5, 0.5), "probability: 1.5 is outside [0, 1]"),
        (lambda: OpSpec("rotate", 0.5, loose("high")), "magnitude: expected a number in [0, 1], got 'high'"),
        (lambda: Policy("autoaugment"), "structure: expected one of none, subpolicies, rand, trivial, torchvision"),
        (lambda: Policy("subpolicies"), "sub_policies: expected at least one sub-policy"),
        (lambda: Policy("subpolicies", sub_policies=((),)), "sub_policies[0]: expected at least one op"),
        (lambda: Policy("subpolicies", sub_policies=loose((("rotate",),))), "sub_policies[0][0]: expected an OpSpec"),
        (lambda: Policy("rand", ops=("rotate",), num_ops=0), "num_ops: expected at least 1, got 0"),
        (lambda: Policy("rand", ops=("rotate",), num_ops=loose(2.0)), "num_ops: expected an integer"),
        (lambda: Policy("trivial", ops=("rotate", "jpg")), "ops[1]: unknown op 'jpg' (did you mean 'jpeg'?)"),
        (lambda: Policy("trivial", ops=("rotate",), magnitude=0.5), "magnitude: not used by structure 'trivial'"),
        (lambda: Policy("none", ops=("rotate",)), "ops: not used by structure 'none' (it reads no other field)"),
        (lambda: Policy("torchvision", transform="RandAug"), "transform: expected one of TrivialAugmentWide"),
        (lambda: Policy("torchvision", transform="RandAugment", kwargs={"n": 2}), "kwargs: torchvision's RandAugment"),
        (lambda: Policy("torchvision", transform="AutoAugment", kwargs={"policy": "x"}), "'x' is not a valid"),
        (lambda: Policy("torchvision", transform="AugMix", kwargs={"alpha": object()}), "kwargs: expected JSON"),
    ],
)
def test_constructors_validate(build: Any, expected: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(expected)):
        build()


def _stock(name: str, **kwargs: Any) -> Callable[[], Policy]:
    return lambda: Policy("torchvision", transform=name, kwargs=kwargs)


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (_stock("RandAugment", num_ops=10**9), "kwargs.num_ops: expected a whole number from 1 to 10 for RandAugment"),
        (_stock("RandAugment", num_ops=1e9), "kwargs.num_ops: expected a whole number from 1 to 10"),
        (_stock("RandAugment", num_ops=True), "kwargs.num_ops: expected a whole number from 1 to 10"),
        (_stock("RandAugment", magnitude=31), "kwargs.magnitude: expected a whole number from 0 to 30"),
        (_stock("RandAugment", magnitude=5, num_magnitude_bins=5),
         "kwargs.magnitude: expected a whole number from 0 to 4 for RandAugment"),
        (_stock("RandAugment", magnitude=-1), "kwargs.magnitude: expected a whole number from 0 to 30"),
        (_stock("RandAugment", num_magnitude_bins=1),
         "kwargs.num_magnitude_bins: expected a whole number from 2 to 100"),
        (_stock("TrivialAugmentWide", num_magnitude_bins=10**9), "kwargs.num_magnitude_bins: expected a whole number"),
        (_stock("AugMix", severity=11), "kwargs.severity: expected a whole number from 1 to 10 for AugMix"),
        (_stock("AugMix", mixture_width=10**9), "kwargs.mixture_width: expected a whole number from 1 to 10"),
        (_stock("AugMix", chain_depth=10**9), "kwargs.chain_depth: expected a whole number from -1 to 10"),
        (_stock("AugMix", alpha=0), "kwargs.alpha: expected a number from 0 (excluded) to 100, got 0"),
        (_stock("AugMix", alpha=1e300), "kwargs.alpha: expected a number from 0 (excluded) to 100"),
        (_stock("AugMix", all_ops=1), "kwargs.all_ops: expected true or false, got 1"),
        (_stock("AutoAugment", fill=[0] * 100), "kwargs.fill: expected null, a number or a list of 1 or 3 numbers"),
        (_stock("AugMix", fill=300), "kwargs.fill: expected null, a number or a list of 1 or 3 numbers from 0 to 255"),
        (lambda: Policy("rand", ops=("rotate",), num_ops=10**9), "num_ops: expected at most 10, got 1000000000"),
        (lambda: Policy("subpolicies", sub_policies=((OpSpec("rotate", 0.5, 0.5),) * 65,)),
         "sub_policies[0]: 65 ops, at most 64 in one sub-policy"),
    ],
)
def test_counts_and_stock_arguments_are_bounded(build: Callable[[], Policy], expected: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(expected)):
        build()


def test_stock_arguments_in_range_are_kept() -> None:
    policy = Policy("torchvision", transform="AugMix", kwargs={"severity": 10, "chain_depth": -1, "alpha": 0.5,
                                                               "mixture_width": 10, "fill": [0, 128, 255]})
    assert PolicyTransform(policy)(random_image(3, 8, 8)).shape == (3, 8, 8)
    rand = Policy("torchvision", transform="RandAugment", kwargs={"num_ops": 10, "magnitude": 99,
                                                                  "num_magnitude_bins": 100})
    assert PolicyTransform(rand)(random_image(3, 8, 8)).shape == (3, 8, 8)


def test_a_huge_policy_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    path.write_text(SUBPOLICIES.to_json()[:-2] + " " * 1_000_000 + "}\n")
    with pytest.raises(PolicyError, match=re.escape(f"{path}: larger than 1,000,000 bytes")):
        read_policy(path)
    with pytest.raises(PolicyError, match=re.escape("<string>: larger than 1,000,000 bytes")):
        Policy.from_json(path.read_text())


@pytest.mark.parametrize("nesting", ["[" * 200_000 + "]" * 200_000, '{"a": ' * 100_000 + "1" + "}" * 100_000])
def test_a_deeply_nested_file_names_the_file(tmp_path: Path, nesting: str) -> None:
    path = tmp_path / "deep.json"
    path.write_text(nesting)
    with pytest.raises(PolicyError, match=re.escape(f"{path}: nested too deeply")):
        read_policy(path)


def test_deeply_nested_kwargs_name_the_source() -> None:
    fill: list[Any] = []
    for _ in range(5000):
        fill = [fill]
    data = {"format": "autoaug-policy", "version": 1, "structure": "torchvision", "transform": "AugMix",
            "kwargs": {"fill": fill}}
    with pytest.raises(PolicyError, match=re.escape("deep: nested too deeply")):
        Policy.from_dict(data, source="deep")


def test_policy_copies_the_callers_containers() -> None:
    kwargs = {"num_ops": 2}
    policy = Policy("torchvision", transform="RandAugment", kwargs=kwargs)
    kwargs["num_ops"] = 5
    assert policy.kwargs == {"num_ops": 2}
    listed = Policy("trivial", ops=loose(["rotate"]))
    assert listed.ops == ("rotate",) and listed == Policy("trivial", ops=("rotate",))


def test_policies_are_hashable() -> None:
    assert len({*baseline_policies().values(), *baseline_policies().values()}) == 4


# --- JSON -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
def test_json_round_trip_is_exact(name: str, tmp_path: Path) -> None:
    policy = EXAMPLES[name]
    text = policy.to_json()
    assert Policy.from_json(text) == policy
    assert Policy.from_json(text).to_json() == text
    assert Policy.from_dict(policy.to_dict()) == policy
    save_policy(policy, tmp_path / "policy.json")
    assert read_policy(tmp_path / "policy.json") == policy
    assert isinstance(load_policy(tmp_path / "policy.json"), PolicyTransform)


def test_json_entries_carry_the_real_range() -> None:
    entry = SUBPOLICIES.to_dict()["sub_policies"][1][0]
    assert entry == {"op": "rotate", "probability": 0.5, "magnitude": 0.3, "range": [0.0, 30.0], "signed": True}
    assert json.loads(SUBPOLICIES.to_json())["format"] == "autoaug-policy"


def test_magnitude_is_rescaled_from_the_stored_range() -> None:
    data = single_op("rotate", 0.25).to_dict()
    data["sub_policies"][0][0]["range"] = [0.0, 60.0]  # 0.25 of 60 degrees = 0.5 of 30 degrees
    assert Policy.from_dict(data).sub_policies[0][0].magnitude == 0.5


def test_hand_written_pool_entries_may_omit_range_and_signed() -> None:
    data = {"format": "autoaug-policy", "version": 1, "structure": "trivial", "ops": [{"op": "rotate"}]}
    assert Policy.from_dict(data) == Policy("trivial", ops=("rotate",))


FILE_POLICY = Policy(
    "subpolicies",
    sub_policies=(
        (OpSpec("rotate", 0.7, 0.8), OpSpec("gaussian_blur", 0.5, 0.4)),
        (OpSpec("rotate", 0.5, 0.3), OpSpec("equalize", 0.6, 0.0)),
    ),
)


def _edit(path: str, value: Any) -> Any:
    """Return a function that sets ``value`` at the dotted/indexed ``path`` of a policy dict."""

    def edit(data: Any) -> None:
        *parents, last = [int(key) if key.isdigit() else key for key in path.split(".")]
        for key in parents:
            data = data[key]
        data[last] = value

    return edit


def _on_rand(edit: Callable[[Any], object]) -> Callable[[dict[str, Any]], None]:
    """Return a function that swaps in a rand policy's dict, then applies ``edit`` to it."""

    def apply(data: dict[str, Any]) -> None:
        data.clear()
        data.update(EXAMPLES["rand"].to_dict())
        edit(data)

    return apply


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_edit("sub_policies.0.1.op", "rotat"), "sub_policies[0][1].op: unknown op 'rotat' (did you mean 'rotate'?)"),
        (_edit("sub_policies.0.0.probability", 1.7), "sub_policies[0][0].probability: 1.7 is outside [0, 1]"),
        (_edit("sub_policies.1.0.magnitude", None), "sub_policies[1][0].magnitude: expected a number in [0, 1]"),
        (_edit("sub_policies.0.0.prob", 0.5), "sub_policies[0][0].prob: unknown key (allowed: op, probability"),
        (_edit("sub_policies.0.0.signed", False), "sub_policies[0][0].signed: the file says False but op 'rotate'"),
        (_edit("sub_policies.0.0.range", [0, "x"]), "sub_policies[0][0].range: expected [low, high]"),
        (_edit("sub_policies.0.0.range", [0, 90]), "sub_policies[0][0].range: magnitude 0.8 of the stored range"),
        (_edit("sub_policies.0.0", "rotate"), "sub_policies[0][0]: expected an object with keys op, probability"),
        (_edit("sub_policies.0", []), "sub_policies[0]: expected at least one op"),
        (_edit("sub_policies", {}), "sub_policies: expected a list, got dict"),
        (_edit("format", "other"), "format: expected 'autoaug-policy', got 'other' (is this an autoaug policy file?)"),
        (_edit("version", 3), "version: unsupported version 3 (this autoaug reads versions 1 and 2)"),
        (_edit("structure", "auto"), "structure: expected one of none, subpolicies"),
        (_edit("structure", []), "structure: expected one of none, subpolicies"),
        (_edit("sub_policy", []), "sub_policy: unknown key for structure 'subpolicies' (allowed: format, version"),
        (_edit("name", 3), "name: expected a string, got int"),
        (lambda data: data.pop("sub_policies"), "sub_policies: missing (structure 'subpolicies' needs sub_policies)"),
        (lambda data: data.clear(), "format: expected 'autoaug-policy', got None"),
        (_on_rand(_edit("num_ops", 0)), "num_ops: expected at least 1, got 0"),
        (_on_rand(_edit("ops.5.range", [0, 45])), "ops[5].range: the stored range"),
        (_on_rand(lambda data: data["ops"].append({"op": "zoom"})), "ops[14].op: unknown op 'zoom'"),
    ],
)
def test_malformed_files_name_the_file_and_the_field(edit: Any, expected: str, tmp_path: Path) -> None:
    data = FILE_POLICY.to_dict()
    edit(data)
    path = tmp_path / "best.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PolicyError, match=re.escape(f"{path}: {expected}")):
        read_policy(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{\n  "format": "autoaug-policy",\n  "version": 1,\n}', "<string>: invalid JSON at line 4, column 1"),
        ("[1, 2]", "<string>: expected a JSON object, got list"),
        ("", "<string>: invalid JSON at line 1, column 1"),
    ],
)
def test_text_that_is_no_policy_object_raises(text: str, expected: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(expected)):
        Policy.from_json(text)


def test_a_missing_file_raises_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        read_policy(tmp_path / "missing.json")


# --- user ops -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("scratch_registry")
def test_user_op_works_through_a_policy_and_json(tmp_path: Path) -> None:
    register_op("stripes", low=1.0, high=4.0, description="band width in pixels")(stripes)
    policy = Policy("subpolicies", sub_policies=((OpSpec("stripes", 1.0, 1.0),),), name="user")
    save_policy(policy, tmp_path / "user.json")
    transform = load_policy(tmp_path / "user.json")
    image = torch.full((1, 8, 8), 200, dtype=torch.uint8)
    assert transform(image)[0, 0].tolist() == [0, 0, 0, 0, 200, 200, 200, 200]
    assert "stripes(p=1,m=1)" in describe(read_policy(tmp_path / "user.json"))


# --- describe -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (
            SUBPOLICIES,
            "subpolicies: [downscale(p=0.7,m=0.8) > gaussian_blur(p=0.5,m=0.4)]"
            " | [rotate(p=0.5,m=0.3) > equalize(p=0.6)]",
        ),
        (Policy("rand", ops=("rotate", "jpeg"), num_ops=2, magnitude=0.3), "rand: 2 ops from {rotate, jpeg} at m=0.3"),
        (Policy("trivial", ops=("rotate",)), "trivial: 1 op from {rotate} at a uniformly drawn m"),
        (baseline_policies()["rand_augment"], "torchvision: RandAugment(num_ops=2, magnitude=9)"),
        (Policy("none"), "none"),
    ],
)  # fmt: skip
def test_describe_is_one_readable_line(policy: Policy, expected: str) -> None:
    assert describe(policy) == expected


# --- modality and format version ------------------------------------------------------------------


def test_files_are_written_as_version_2_naming_their_modality() -> None:
    data = SUBPOLICIES.to_dict()
    assert (data["version"], data["modality"]) == (2, "image")
    assert list(data)[:5] == ["format", "version", "modality", "name", "structure"]


def test_a_version_1_file_loads_as_an_image_policy(tmp_path: Path) -> None:
    data = {key: value for key, value in SUBPOLICIES.to_dict().items() if key != "modality"}
    path = tmp_path / "old.json"
    path.write_text(json.dumps({**data, "version": 1}))
    assert read_policy(path) == SUBPOLICIES
    assert isinstance(load_policy(path), PolicyTransform)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda data: data.pop("modality"), "modality: missing (version 2 files name their modality"),
        (lambda data: data.update(version=1), "modality: unknown key for structure 'subpolicies'"),
        (lambda data: data.update(modality="audio"), "unknown op 'downscale': no op is registered for modality 'audio'"),
    ],
)
def test_the_modality_field_is_checked(edit: Callable[[dict[str, Any]], object], expected: str) -> None:
    data = SUBPOLICIES.to_dict()
    edit(data)
    with pytest.raises(PolicyError, match=re.escape(expected)):
        Policy.from_dict(data)


def test_a_policy_of_another_modality_is_no_image_transform() -> None:
    with pytest.raises(PolicyError, match="an image transform needs an image policy, got a 'audio' one"):
        PolicyTransform(Policy("none", modality="audio"))
