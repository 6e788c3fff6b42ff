"""autoaug: automated augmentation-policy search for fine-tuning pre-trained backbones."""

from __future__ import annotations

__version__ = "0.1.0"
