"""The policy as a torchvision v2 transform: draw the random choices per image, then apply the kernels."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import PIL.Image
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from autoaug.errors import PolicyError
from autoaug.ops.image import make_stock_transform
from autoaug.policy import Policy, describe, plan


class _Applier(v2.Transform):
    """Applies a compiled policy to uint8 images (PIL, [C, H, W], [B, C, H, W] or tv_tensors.Image).

    Needs only torch and torchvision, so that exported snippets copy this class verbatim.
    ``make_params`` draws, for each image, which ops fire with which values; ``transform`` applies
    them. Each of ``repeats`` rounds picks one of ``choices`` uniformly and runs its entries
    ``(op index, probability, magnitude)`` in order; a magnitude of None is drawn uniformly in
    [0, 1]. ``ranges[index]`` is ``(low, high, signed)`` of ``kernels[index]``. A ``stock``
    ``(name, kwargs)`` runs a stock torchvision transform first, with a seed drawn per image.
    ``description`` says what the policy is in the transform's repr.
    """

    _error: type[Exception] = TypeError

    def __init__(
        self,
        kernels: Sequence[Callable[[torch.Tensor, float, torch.Generator | None], torch.Tensor]],
        ranges: Sequence[tuple[float, float, bool]],
        choices: Sequence[Sequence[tuple[int, float, float | None]]],
        repeats: int,
        stock: tuple[str, dict[str, Any]] | None,
        generator: torch.Generator | None = None,
        description: str = "",
    ) -> None:
        super().__init__()
        self._description = description
        self._kernels = tuple(kernels)
        self._ranges = tuple(ranges)
        self._choices = tuple(choices)
        self._repeats = repeats
        self._stock = None if stock is None else make_stock_transform(*stock)
        self._generator = generator
        # One draw per image fills this buffer: a pick per round, then (fire, magnitude, sign) per entry.
        longest = max((len(choice) for choice in self._choices), default=0)
        self._uniforms = torch.empty(repeats * (1 + 3 * longest), dtype=torch.float64)

    def extra_repr(self) -> str:
        return self._description

    def check_inputs(self, flat_inputs: list[Any]) -> None:
        for inpt in flat_inputs:
            if isinstance(inpt, tv_tensors.TVTensor) and not isinstance(inpt, tv_tensors.Image):
                raise self._error(
                    f"{type(inpt).__name__} inputs are not supported: geometric ops would move the image but not them"
                )

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        if len(flat_inputs) != 1:
            raise self._error(f"expected one image per call, got {len(flat_inputs)}")
        return {"draws": [self._draw() for _ in range(self._count_images(flat_inputs[0]))]}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        draws = params["draws"]
        if isinstance(inpt, PIL.Image.Image):
            return F.to_pil_image(self._apply(F.pil_to_tensor(inpt), draws[0]), mode=inpt.mode)
        image = inpt.as_subclass(torch.Tensor)
        if image.ndim == 3:
            output = self._apply(image, draws[0])
        else:
            output = torch.stack([self._apply(one, draw) for one, draw in zip(image, draws, strict=True)])
        return tv_tensors.wrap(output, like=inpt) if isinstance(inpt, tv_tensors.Image) else output

    def _count_images(self, inpt: Any) -> int:
        """Check that ``inpt`` is a supported image and return how many images it holds."""
        if isinstance(inpt, PIL.Image.Image):
            if inpt.mode not in ("L", "RGB"):
                raise self._error(
                    f"expected a PIL image in mode 'L' or 'RGB', got {inpt.mode!r}; use image.convert('RGB')"
                )
            return 1
        if inpt.dtype != torch.uint8:
            raise self._error(
                f"expected a uint8 image tensor, got {inpt.dtype}; apply the policy before ToDtype and Normalize, "
                "or convert with v2.ToDtype(torch.uint8, scale=True)"
            )
        if inpt.ndim not in (3, 4) or inpt.shape[-3] not in (1, 3):
            raise self._error(f"expected a [C, H, W] or [B, C, H, W] tensor with C = 1 or 3, got {list(inpt.shape)}")
        return 1 if inpt.ndim == 3 else inpt.shape[0]

    def _draw(self) -> tuple[int | None, list[tuple[int, float]]]:
        """Return the stock transform's seed (None: none, or the global generator) and the ops to apply."""
        seed = None if self._stock is None else self._draw_seed()
        return seed, self._draw_ops() if self._choices else []

    def _draw_ops(self) -> list[tuple[int, float]]:
        """Return the ``(op index, signed value)`` pairs to apply to one image, in order."""
        uniforms = self._uniforms.uniform_(generator=self._generator).tolist()
        draw = []
        slot = 0
        for _ in range(self._repeats):
            choice = self._choices[min(int(uniforms[slot] * len(self._choices)), len(self._choices) - 1)]
            for index, probability, magnitude in choice:
                fire, level, sign = uniforms[slot + 1 : slot + 4]
                slot += 3
                if fire < probability:
                    low, high, signed = self._ranges[index]
                    value = low + (level if magnitude is None else magnitude) * (high - low)
                    draw.append((index, -value if signed and sign < 0.5 else value))
            slot += 1
        return draw

    def _draw_seed(self) -> int | None:
        """Return a seed for the stock transform, or None to let it use the global generator."""
        return None if self._generator is None else int(torch.randint(2**62, (), generator=self._generator))

    def _apply(self, image: torch.Tensor, draw: tuple[int | None, list[tuple[int, float]]]) -> torch.Tensor:
        seed, ops = draw
        if self._stock is not None and seed is None:
            image = self._stock(image)
        elif self._stock is not None:
            # Stock transforms read the global generator: seed it for this image, then restore it.
            with torch.random.fork_rng(devices=[]):
                torch.default_generator.manual_seed(seed)
                image = self._stock(image)
        for index, value in ops:
            image = self._kernels[index](image, value, self._generator)
        return image


class PolicyTransform(_Applier):
    """An image :class:`Policy` as a torchvision v2 transform.

    Takes a PIL image (mode L or RGB), a uint8 tensor [C, H, W] or a tv_tensors.Image and returns
    the same type; a uint8 tensor [B, C, H, W] gets an independent draw per sample. Other labels in
    the sample pass through unchanged.

    Example:
        >>> transform = PolicyTransform(Policy("trivial", ops=("rotate", "equalize")), torch.Generator().manual_seed(0))
        >>> transform(torch.zeros(3, 32, 32, dtype=torch.uint8)).shape
        torch.Size([3, 32, 32])
    """

    _error = PolicyError

    def __init__(self, policy: Policy, generator: torch.Generator | None = None) -> None:
        """Compile ``policy``; ``generator`` is the source of every random draw (None: torch's global one)."""
        if policy.modality != "image":
            raise PolicyError(f"modality: an image transform needs an image policy, got a {policy.modality!r} one")
        compiled = plan(policy)
        super().__init__(kernels=[op.kernel for op in compiled.ops], generator=generator,
                         description=describe(policy), **compiled.settings())
        self.policy = policy
