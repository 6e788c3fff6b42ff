from __future__ import annotations

import logging
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits

from autoaug import tasks as _tasks
from autoaug.errors import ConfigError, DataError
from autoaug.modalities.image.data import (
    ImageSet,
    TransferTask,
    _printed,
    load_digits_task,
    load_folder_task,
    load_mnist_fewshot_task,
    load_printed_task,
    render_printed_digits,
)
from autoaug.modalities.image.data._mnist import load_mnist_5k
from autoaug.tasks import get_task, list_tasks


@pytest.fixture(scope="module")
def digits() -> TransferTask:
    return load_digits_task(image_size=16, train_size=300, seed=0)


def _rows(images: torch.Tensor) -> list[bytes]:
    return sorted(image.numpy().tobytes() for image in images)


def test_digits_shapes_and_dtypes(digits: TransferTask) -> None:
    assert digits.name == "digits"
    assert digits.class_names == tuple(str(d) for d in range(10))
    assert digits.num_classes == 10
    for split, size in ((digits.train, 300), (digits.val, 898), (digits.test, 899)):
        assert split.images.shape == (size, 3, 16, 16)
        assert split.images.dtype == torch.uint8
        assert split.labels.dtype == torch.int64
        assert torch.equal(split.images[:, 0], split.images[:, 2])  # grayscale replicated
    assert digits.skipped == ()


def test_digits_train_is_class_balanced(digits: TransferTask) -> None:
    assert digits.train.labels.bincount().tolist() == [30] * 10


def test_digits_val_and_test_partition_the_target_stratified() -> None:
    task = load_digits_task(image_size=8, train_size=10, val_fraction=0.3)
    native = np.rint(load_digits().images * (255 / 16)).astype(np.uint8)
    target = torch.from_numpy(native).unsqueeze(1).expand(-1, 3, -1, -1)
    assert _rows(torch.cat([task.val.images, task.test.images])) == _rows(target)
    val_share = task.val.labels.bincount() / (task.val.labels.bincount() + task.test.labels.bincount())
    assert torch.all((val_share - 0.3).abs() < 0.01)


def test_digits_is_deterministic_per_seed(digits: TransferTask) -> None:
    again = load_digits_task(image_size=16, train_size=300, seed=0)
    other = load_digits_task(image_size=16, train_size=300, seed=1)
    for split in ("train", "val", "test"):
        assert torch.equal(getattr(digits, split).images, getattr(again, split).images)
        assert torch.equal(getattr(digits, split).labels, getattr(again, split).labels)
    assert not torch.equal(digits.train.images, other.train.images)
    assert not torch.equal(digits.val.labels, other.val.labels)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"train_size": 0}, "train_size must be a positive integer"),
        ({"train_size": 5001}, "at most 5000"),
        ({"val_fraction": 1.0}, "val_fraction must lie strictly between 0 and 1"),
        ({"image_size": 0}, "image_size must be a positive integer"),
    ],
)
def test_digits_bad_arguments(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_digits_task(**kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def mnist() -> tuple[np.ndarray, np.ndarray]:
    return load_mnist_5k()


@pytest.fixture(scope="module")
def printed() -> TransferTask:
    return load_printed_task(image_size=28, train_size=205, seed=0)


@pytest.fixture(scope="module")
def fewshot() -> TransferTask:
    return load_mnist_fewshot_task(image_size=28, seed=0)


def _equal_tasks(first: TransferTask, second: TransferTask) -> bool:
    return all(
        torch.equal(getattr(first, split).images, getattr(second, split).images)
        and torch.equal(getattr(first, split).labels, getattr(second, split).labels)
        for split in ("train", "val", "test")
    )


def _as_rgb(gray: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(gray).unsqueeze(1).expand(-1, 3, -1, -1)


def test_printed_shapes_balance_and_target_split(printed: TransferTask) -> None:
    assert (printed.name, printed.class_names, printed.skipped) == ("printed", tuple("0123456789"), ())
    for split, size in ((printed.train, 205), (printed.val, 1000), (printed.test, 1000)):
        assert split.images.shape == (size, 3, 28, 28)
        assert split.images.dtype == torch.uint8 and split.labels.dtype == torch.int64
        assert torch.equal(split.images[:, 0], split.images[:, 2])  # grayscale replicated
    assert printed.train.labels.bincount().tolist() == [21] * 5 + [20] * 5
    assert printed.val.labels.bincount().tolist() == [100] * 10
    assert printed.test.labels.bincount().tolist() == [100] * 10


def test_printed_target_is_real_mnist_and_source_is_not(
    printed: TransferTask, mnist: tuple[np.ndarray, np.ndarray]
) -> None:
    real = set(_rows(_as_rgb(mnist[0])))
    target = _rows(torch.cat([printed.val.images, printed.test.images]))
    assert len(set(target)) == 2000 and set(target) <= real
    assert not set(_rows(printed.train.images)) & real


def test_printed_digits_are_white_on_black_and_centred() -> None:
    images = render_printed_digits(np.arange(200) % 10, seed=3)
    assert images.shape == (200, 28, 28) and images.dtype == np.uint8
    assert images[:, [0, -1], :].max() == 0 and images[:, :, [0, -1]].max() == 0  # a black border
    ink = images.astype(float)
    rows, cols = np.indices((28, 28))
    for axis in (rows, cols):
        centre = (ink * axis).sum((1, 2)) / ink.sum((1, 2))
        assert np.all(np.abs(centre - 13.5) < 5)
    heights = [np.ptp(np.nonzero(image.max(1) > 64)[0]) + 1 for image in images]
    assert 15 <= min(heights) and max(heights) <= 22


def test_printed_fonts_all_draw_ten_distinct_digits() -> None:
    glyphs = _printed._glyphs()
    assert len(glyphs) == len(_printed.PRINTED_FONTS)
    for by_stroke in glyphs:
        for crops in by_stroke:
            assert len({crop.tobytes() for crop in crops}) == 10
            assert all(crop.width > 1 and crop.height > 20 for crop in crops)


def test_printed_is_deterministic_per_seed(printed: TransferTask) -> None:
    assert _equal_tasks(printed, load_printed_task(image_size=28, train_size=205, seed=0))
    other = load_printed_task(image_size=28, train_size=205, seed=1)
    assert not torch.equal(printed.train.images, other.train.images)
    assert not torch.equal(printed.val.images, other.val.images)


def test_printed_val_fraction_splits_the_target() -> None:
    task = load_printed_task(image_size=8, train_size=10, val_fraction=0.3)
    assert (len(task.val), len(task.test)) == (600, 1400)


def test_fewshot_sizes_and_balance(fewshot: TransferTask) -> None:
    assert (fewshot.name, fewshot.class_names) == ("mnist-fewshot", tuple("0123456789"))
    for split, per_class in ((fewshot.train, 25), (fewshot.val, 25), (fewshot.test, 450)):
        assert split.images.shape == (10 * per_class, 3, 28, 28)
        assert split.labels.bincount().tolist() == [per_class] * 10


def test_fewshot_partitions_mnist(fewshot: TransferTask, mnist: tuple[np.ndarray, np.ndarray]) -> None:
    splits = [fewshot.train.images, fewshot.val.images, fewshot.test.images]
    assert _rows(torch.cat(splits)) == _rows(_as_rgb(mnist[0]))
    labels = torch.cat([fewshot.train.labels, fewshot.val.labels, fewshot.test.labels])
    assert labels.bincount().tolist() == np.bincount(mnist[1]).tolist()


def test_fewshot_is_deterministic_per_seed_and_sized_by_train_size(fewshot: TransferTask) -> None:
    assert _equal_tasks(fewshot, load_mnist_fewshot_task(image_size=28, seed=0))
    assert not torch.equal(fewshot.train.images, load_mnist_fewshot_task(image_size=28, seed=1).train.images)
    task = load_mnist_fewshot_task(image_size=8, train_size=53)
    assert task.train.labels.bincount().tolist() == task.val.labels.bincount().tolist() == [6] * 3 + [5] * 7
    assert len(task.test) == 5000 - 2 * 53


def test_fewshot_needs_images_left_for_test() -> None:
    assert len(load_mnist_fewshot_task(image_size=8, train_size=2490).test) == 20
    with pytest.raises(DataError, match="class '0' in MNIST-5k has 500 images: too few for 250 training"):
        load_mnist_fewshot_task(image_size=8, train_size=2500)


def test_builtin_tasks_load_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for task in list_tasks("image"):
        loaded = task.load(image_size=8, train_size=20, val_fraction=0.5, seed=0)
        assert loaded.name == task.name and len(loaded.train) == 20


def test_task_registry_lists_the_builtin_tasks_with_their_defaults() -> None:
    defaults = {task.name: (task.epochs, task.train_size) for task in list_tasks("image")}
    assert defaults == {"digits": (2, 2000), "printed": (8, 500), "mnist-fewshot": (24, 250)}
    assert all(task.description for task in list_tasks())
    assert _equal_tasks(get_task("digits").load(16, 300, 0.5, 0), load_digits_task(image_size=16, train_size=300))


def test_unknown_task_is_an_error_naming_close_and_known_tasks() -> None:
    with pytest.raises(ConfigError, match=r"unknown task 'printd' \(did you mean 'printed'\?\); built-in tasks: "
                       "digits, printed, mnist-fewshot"):
        get_task("printd")
    with pytest.raises(ConfigError, match=r"unknown task 'imagenet'; built-in"):
        get_task("imagenet")


def test_register_task_adds_a_task_and_refuses_a_taken_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_tasks, "_TASKS", dict(_tasks._TASKS))  # keep the global registry clean

    @_tasks.register_task("tiny", description="a few digits", epochs=1, train_size=10)
    def load_tiny(image_size: int, train_size: int, val_fraction: float, seed: int) -> TransferTask:
        return load_digits_task(image_size, train_size, val_fraction, seed)

    assert get_task("tiny").loader is load_tiny
    assert len(get_task("tiny").load(8, 10, 0.5, 0).train) == 10
    for taken in ("tiny", "digits"):
        with pytest.raises(ConfigError, match=f"task '{taken}' is already registered"):
            _tasks.register_task(taken, description="again", epochs=1, train_size=10)(load_tiny)
    with pytest.raises(ConfigError, match="other than 'folders'"):
        _tasks.register_task("folders", description="mine", epochs=1, train_size=10)


def test_image_set_subset_and_validation() -> None:
    images = torch.arange(4, dtype=torch.uint8).view(4, 1, 1, 1).expand(4, 3, 2, 2).contiguous()
    data = ImageSet(images, torch.tensor([0, 1, 2, 3]))
    part = data.subset([3, 1])
    assert len(part) == 2
    assert part.labels.tolist() == [3, 1]
    assert part.images[:, 0, 0, 0].tolist() == [3, 1]
    with pytest.raises(DataError, match="uint8"):
        ImageSet(images.float(), data.labels)
    with pytest.raises(DataError, match="int64"):
        ImageSet(images, data.labels[:3])


def _write_images(folder: Path, count: int, mode: str = "RGB", size: tuple[int, int] = (20, 12)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(str(folder)))
    for i in range(count):
        shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(folder / f"img{i}.png")


def _make_task_dirs(root: Path, train_counts: dict[str, int], val_counts: dict[str, int]) -> tuple[Path, Path]:
    for split, counts in (("train", train_counts), ("val", val_counts)):
        for name, count in counts.items():
            _write_images(root / split / name, count)
    return root / "train", root / "val"


def test_folder_task_happy_path(tmp_path: Path) -> None:
    train_dir, val_dir = _make_task_dirs(tmp_path, {"cat": 5, "dog": 3}, {"cat": 4, "dog": 6})
    _write_images(train_dir / "dog", 1, mode="L", size=(7, 30))  # grayscale, another size
    (train_dir / "dog" / "notes.txt").write_text("not an image")
    (train_dir / ".cache").mkdir()
    task = load_folder_task(train_dir, val_dir, image_size=24, name="pets")
    assert task.name == "pets"
    assert task.class_names == ("cat", "dog")
    assert task.train.images.shape == (8, 3, 24, 24)
    assert task.train.labels.bincount().tolist() == [5, 3]
    assert task.val.labels.bincount().tolist() == [2, 3]
    assert task.test.labels.bincount().tolist() == [2, 3]
    assert task.skipped == ()
    assert _rows(torch.cat([task.val.images, task.test.images])) == _rows(
        load_folder_task(val_dir, val_dir, val_dir, image_size=24).val.images
    )


def test_folder_task_with_test_dir_and_train_cap(tmp_path: Path) -> None:
    train_dir, val_dir = _make_task_dirs(tmp_path, {"a": 10, "b": 2, "c": 10}, {"a": 1, "b": 1, "c": 1})
    for name in "abc":
        _write_images(tmp_path / "test" / name, 2)
    task = load_folder_task(train_dir, val_dir, tmp_path / "test", image_size=8, max_train_images=9)
    assert task.train.labels.bincount().tolist() == [4, 2, 3]
    assert len(task.val) == 3
    assert len(task.test) == 6


@pytest.mark.parametrize("missing", ["train", "val"])
def test_folder_task_missing_dir(tmp_path: Path, missing: str) -> None:
    train_dir, val_dir = _make_task_dirs(tmp_path, {"a": 2}, {"a": 2})
    given = {"train": train_dir, "val": val_dir, missing: tmp_path / "nowhere"}
    with pytest.raises(DataError, match=rf"{missing}_dir .*nowhere does not exist"):
        load_folder_task(given["train"], given["val"])


def test_folder_task_without_class_subfolders(tmp_path: Path) -> None:
    _write_images(tmp_path / "flat", 3)
    _, val_dir = _make_task_dirs(tmp_path, {}, {"a": 2})
    with pytest.raises(DataError, match=r"train_dir .*flat has no class subfolders"):
        load_folder_task(tmp_path / "flat", val_dir)


def test_folder_task_empty_class(tmp_path: Path) -> None:
    train_dir, val_dir = _make_task_dirs(tmp_path, {"a": 2}, {"a": 2, "b": 2})
    (train_dir / "b").mkdir()
    (train_dir / "b" / "readme.md").write_text("no images here")
    with pytest.raises(DataError, match=r"class 'b' of train_dir is empty: no image files .* in .*train/b"):
        load_folder_task(train_dir, val_dir)


def test_folder_task_class_sets_differ(tmp_path: Path) -> None:
    train_dir, val_dir = _make_task_dirs(tmp_path, {"a": 2, "b": 2, "c": 2}, {"a": 2, "d": 2})
    with pytest.raises(DataError, match="missing in val_dir: b, c; missing in train_dir: d"):
        load_folder_task(train_dir, val_dir)


def test_folder_task_class_too_small_to_split(tmp_path: Path) -> None:
    train_dir, val_dir = _make_task_dirs(tmp_path, {"a": 2, "b": 2}, {"a": 3, "b": 1})
    with pytest.raises(DataError, match=r"class 'b' in val_dir .* has 1 usable image\(s\); at least 2"):
        load_folder_task(train_dir, val_dir)


def test_folder_task_skips_unreadable_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    train_dir, val_dir = _make_task_dirs(tmp_path, {"a": 2, "b": 2}, {"a": 2, "b": 2})
    (train_dir / "a" / "broken.png").write_bytes(b"not a png")
    (train_dir / "b" / "truncated.jpg").write_bytes(b"\xff\xd8\xff\xe0")
    with caplog.at_level(logging.WARNING, logger="autoaug.data"):
        task = load_folder_task(train_dir, val_dir)
    assert len(task.train) == 4
    assert len(task.skipped) == 2
    assert task.skipped[0].startswith(f"{train_dir / 'a' / 'broken.png'}: ")
    assert "skipped 2 unreadable image file(s)" in caplog.text
    assert "broken.png" in caplog.text


def test_folder_task_class_with_only_unreadable_files(tmp_path: Path) -> None:
    train_dir, val_dir = _make_task_dirs(tmp_path, {"a": 2}, {"a": 2, "b": 2})
    (train_dir / "b").mkdir()
    (train_dir / "b" / "broken.png").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"class 'b' of train_dir is empty: none of its image files in .*train/b"):
        load_folder_task(train_dir, val_dir)


def _gradient(folder: Path, name: str, values: np.ndarray) -> np.ndarray:
    """Save ``values`` (a 2-D array) as an image file of the mode its dtype gives, and return them."""
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(values).save(folder / name)
    return values


def test_high_bit_depth_images_are_rescaled_and_alpha_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    side = 16
    ramp = np.linspace(0, 1, side * side).reshape(side, side)
    sixteen = _gradient(tmp_path / "train" / "a", "ramp16.png", np.rint(ramp * 65535).astype(np.uint16))
    rgba = np.zeros((side, side, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 0  # fully transparent red: the stored colour is kept
    (tmp_path / "train" / "b").mkdir()
    Image.fromarray(rgba).save(tmp_path / "train" / "b" / "rgba.png")
    floats = _gradient(tmp_path / "val" / "a", "ramp.tiff", (ramp * 0.5 - 0.1).astype(np.float32))
    ints = _gradient(tmp_path / "test" / "a", "ramp.tiff", np.rint(ramp * 4000 + 1000).astype(np.int32))
    for split in ("val", "test"):
        _write_images(tmp_path / split / "b", 1)
    assert Image.open(tmp_path / "train" / "a" / "ramp16.png").mode == "I;16"

    with caplog.at_level(logging.INFO, logger="autoaug.data"):
        task = load_folder_task(tmp_path / "train", tmp_path / "val", tmp_path / "test", image_size=side)

    def channel(images: torch.Tensor) -> np.ndarray:
        assert torch.equal(images[0], images[2])  # grayscale replicated
        return images[0].numpy().astype(int)

    # 16-bit: the dtype's full range onto 0..255 (divided by 257), not clipped at 255.
    assert np.abs(channel(task.train.images[0]) - sixteen / 257).max() <= 0.5
    assert (channel(task.train.images[0]) == 255).mean() < 0.01
    # 32-bit integer and float: the image's own minimum and maximum onto 0..255.
    for images, values in ((task.val.images[0], floats), (task.test.images[0], ints)):
        stretched = (values - values.min()) / (values.max() - values.min()) * 255
        assert np.abs(channel(images) - stretched).max() <= 0.5
    assert task.train.images[1, :, 0, 0].tolist() == [200, 0, 0]
    assert task.conversions == {"I;16": 1, "RGBA": 1, "F": 1, "I": 1}
    lines = [r.getMessage() for r in caplog.records if "alpha" in r.getMessage()]
    assert len(lines) == 1 and "RGBA x1 (alpha channel dropped)" in lines[0]


def test_plain_images_need_no_conversion(tmp_path: Path) -> None:
    train_dir, val_dir = _make_task_dirs(tmp_path, {"a": 2}, {"a": 2})
    _write_images(train_dir / "a", 1, mode="L")
    assert load_folder_task(train_dir, val_dir).conversions == {}
