"""Benchmark the training data path: augmented images per second, on the training thread against DataLoader workers.

For real ``digits`` training images at 32 px and at 224 px under a policy of autoaug's own ops that
all fire on every image (rotate, downscale, Gaussian noise: the same work per image whatever the
draws), times one epoch of batches of 64, augmented and stacked:

- ``main_thread``: the old path, each batch augmented image by image on the training thread;
- ``workers_0``, ``workers_1``, ``workers_2``: the new path (``AugmentedBatches`` through a DataLoader,
  each image seeded from (seed, epoch, index)) on the training thread, and in 1 and 2 worker processes
  (their start-up included: the trainer starts them every epoch).

Each is repeated, interleaved; the medians of images per second, their ratios to ``main_thread``
and the CPU time the training process itself spent per image (``time.process_time``: what is left
on the training thread; the workers' time is not in it) are written to
``benchmarks/results/datapath.json``::

    python benchmarks/datapath_benchmark.py                 # about 2 minutes on 2 cores
    python benchmarks/datapath_benchmark.py --repeats 3

No step trains here, so the throughput is that of augmentation alone; with workers the training
thread is free while they augment, which is what a GPU trial gains even where the throughput is not
higher.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from autoaug.modalities.image import PolicyTransform
from autoaug.modalities.image._loader import AugmentedBatches, available_cpus, training_batches
from autoaug.modalities.image._train import augment_images
from autoaug.modalities.image.data import ImageSet, load_digits_task
from autoaug.policy import OpSpec, Policy, describe

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "datapath.json"
BATCH_SIZE = 64
IMAGES = {32: 1024, 224: 256}
"""Training images per epoch at each size: enough for a few seconds of work on the main thread."""
POLICY = Policy(
    "subpolicies",
    sub_policies=((OpSpec("rotate", 1.0, 0.5), OpSpec("downscale", 1.0, 0.5), OpSpec("gaussian_noise", 1.0, 0.5)),),
    name="rotate-downscale-noise",
)
"""Every op fires on every image, so each path does the same work (a random op mix would not)."""


def _main_thread(data: ImageSet, order: list[torch.Tensor], augment: PolicyTransform) -> None:
    torch.manual_seed(0)
    for indices in order:
        augment_images(data.images[indices], augment)


def _loader(workers: int) -> Callable[[ImageSet, list[torch.Tensor], PolicyTransform], None]:
    def run(data: ImageSet, order: list[torch.Tensor], augment: PolicyTransform) -> None:
        for _ in training_batches(AugmentedBatches(data, augment, seed=0), 1, order, workers=workers):
            pass

    return run


PATHS: dict[str, Callable[[ImageSet, list[torch.Tensor], PolicyTransform], None]] = {
    "main_thread": _main_thread,
    "workers_0": _loader(0),
    "workers_1": _loader(1),
    "workers_2": _loader(2),
}


def measure(size: int, repeats: int) -> dict[str, Any]:
    """Images per second of each path at ``size`` px: every repeat, the median and the ratio to the main thread."""
    data = load_digits_task(image_size=size, train_size=IMAGES[size], seed=0).train
    order = list(torch.randperm(len(data), generator=torch.Generator().manual_seed(0)).split(BATCH_SIZE))
    augment = PolicyTransform(POLICY)
    rates: dict[str, list[float]] = {name: [] for name in PATHS}
    cpu: dict[str, list[float]] = {name: [] for name in PATHS}
    for _ in range(repeats):
        for name, path in PATHS.items():  # interleaved, so that load from elsewhere hits every path alike
            started, cpu_started = time.perf_counter(), time.process_time()
            path(data, order, augment)
            rates[name].append(len(data) / (time.perf_counter() - started))
            cpu[name].append((time.process_time() - cpu_started) / len(data) * 1000)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    return {
        "images": len(data),
        "images_per_second": {name: round(value, 1) for name, value in medians.items()},
        "ratio_to_main_thread": {name: round(value / medians["main_thread"], 3) for name, value in medians.items()},
        "training_process_cpu_ms_per_image": {
            name: round(statistics.median(values), 3) for name, values in cpu.items()
        },
        "repeats": {name: [round(value, 1) for value in values] for name, values in rates.items()},
    }


def cpu_model() -> str | None:
    """The CPU's model name from ``/proc/cpuinfo`` (Linux), else what ``platform`` says."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs per path and size (default 5)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    sizes = {f"{size}px": measure(size, args.repeats) for size in IMAGES}
    result = {
        "what": f"augmented and stacked training images per second (one epoch, batches of {BATCH_SIZE}, policy "
        f"{describe(POLICY)}, real digits images), median of {args.repeats} interleaved repeats",
        "cpu": {"count": os.cpu_count(), "available": available_cpus(), "model": cpu_model(),
                "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]},
        "torch": torch.__version__,
        "sizes": sizes,
        "gpu": {"measured": False, "why": "no GPU machine was lent to this session"},
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    keys = ("images_per_second", "training_process_cpu_ms_per_image")
    print(json.dumps({size: {key: row[key] for key in keys} for size, row in sizes.items()}, indent=2))


if __name__ == "__main__":
    main()
