"""Small learnable image sets for tests that train real models in seconds, and a clean room for snippets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

from autoaug.modalities.image.data import ImageSet, TransferTask

COLOURS = ("red", "green", "blue")


def coloured(count: int, seed: int, size: int = 16) -> ImageSet:
    """Noisy images whose class is the colour channel that is brightest (classes in turn, so balanced)."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % len(COLOURS)
    images = torch.randint(0, 120, (count, 3, size, size), generator=generator, dtype=torch.uint8)
    images[torch.arange(count), labels] += 120
    return ImageSet(images, labels)


def colour_task() -> TransferTask:
    """A transfer task made of :func:`coloured` images: 96 training, 60 validation and 30 test images."""
    return TransferTask("colours", COLOURS, coloured(96, 0), coloured(60, 1), coloured(30, 2))


def run_without_autoaug(snippet: Path, check: str) -> None:
    """Run an exported ``best_policy.py`` and then the statements ``check`` in a fresh interpreter in which
    autoaug cannot be imported."""
    script = f"import sys, torch\nsys.modules['autoaug'] = None\nexec(open({str(snippet)!r}).read())\n{check}"
    subprocess.run([sys.executable, "-c", script], check=True)
