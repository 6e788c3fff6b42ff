"""The image ops: kernels on uint8 [C, H, W] images, registered on import."""

from __future__ import annotations

from autoaug.ops.image import _color, _degrade, _geometric, _morphology  # noqa: F401
