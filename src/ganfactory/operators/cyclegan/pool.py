"""History of generated images for the discriminator (Shrivastava et al. 2017, used by CycleGAN).

Updating D with a mix of current and older fakes damps the oscillation between G and D. The pool is
deterministic given its ``torch.Generator`` and checkpointable: its state holds the stored images
and the generator state, so a resumed run draws exactly what an uninterrupted one would.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["ImagePool"]


def _generator_from_global_rng() -> torch.Generator:
    """A private generator seeded from torch's global RNG, so torch.manual_seed fixes the pool too."""
    generator = torch.Generator()
    generator.manual_seed(int(torch.randint(0, 2**62, ()).item()))
    return generator


class ImagePool:
    """Pool of up to ``size`` past fakes (50 in the paper; 0 disables it).

    ``query(images)``: while the pool is filling, each image is stored and returned unchanged. Once
    full, each image is, with probability 0.5, swapped for a random stored one (returned) and stored
    in its place; otherwise it is returned as is. Images are handled one by one, as in the paper.
    """

    def __init__(self, size: int = 50, *, generator: torch.Generator | None = None) -> None:
        if size < 0:
            raise ValueError(f"image pool size must be >= 0, got {size}")
        self.size = size
        self._generator = generator if generator is not None else _generator_from_global_rng()
        self._images: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self._images)

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Return a batch the same shape, dtype, device and memory layout as ``images``, detached."""
        images = images.detach()
        if self.size == 0:
            return images
        # clone() keeps the memory layout (channels_last stays channels_last for the discriminator).
        result = images.clone()
        for i, image in enumerate(images):
            if len(self._images) < self.size:
                self._images.append(image.clone())
                continue
            if torch.rand((), generator=self._generator).item() > 0.5:
                slot = int(torch.randint(0, self.size, (), generator=self._generator).item())
                result[i] = self._images[slot]
                self._images[slot] = image.clone()
        return result

    def state_dict(self) -> dict[str, Any]:
        """Stored images (on CPU) and the generator state; loadable with ``torch.load(weights_only=True)``."""
        return {
            "size": self.size,
            "images": [image.cpu() for image in self._images],
            "rng_state": self._generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any], *, device: torch.device | str | None = None) -> None:
        """Restore images (moved to ``device`` when given) and the generator state."""
        images = list(state["images"])
        if len(images) > self.size:
            raise ValueError(
                f"the saved image pool holds {len(images)} images but this pool holds at most {self.size}: "
                "resume with the pool size the run was started with"
            )
        self._images = [image.to(device) if device is not None else image for image in images]
        self._generator.set_state(state["rng_state"])
