"""Caption consistency of a StackGAN run, per stage: R-precision (top-1 among 100 captions) of real test images
(the reference value), of stage-I images and of stage-II images, with an image encoder trained on the real
training pairs (ganfactory.operators.stackgan.consistency). Chance is 1/100.

    python benchmarks/stackgan_consistency.py PREPARED RUN [--steps 400]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from ganfactory.engine.checkpoint import list_checkpoints, load_checkpoint
from ganfactory.operators.stackgan.consistency import EncoderTraining, r_precision, train_image_encoder
from ganfactory.operators.stackgan.data import load_images, read_prepared
from ganfactory.operators.stackgan.models import noise, pipeline_from_checkpoint

SIZE = 64


def centre(images: torch.Tensor) -> torch.Tensor:
    """uint8 load-size crops -> float [-1, 1] centre crops of SIZE."""
    offset = (images.shape[2] - SIZE) // 2
    return images[:, :, offset:offset + SIZE, offset:offset + SIZE].float() / 127.5 - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prepared", type=Path)
    parser.add_argument("run", type=Path)
    parser.add_argument("--steps", type=int, default=400)
    args = parser.parse_args()
    torch.set_num_threads(2)
    data = read_prepared(args.prepared)
    train, test = data.subset(test=False), data.subset(test=True)
    start = time.monotonic()
    encoder = train_image_encoder(centre(load_images(data, train, SIZE)),
                                  torch.from_numpy(data.embeddings[train].mean(1)), EncoderTraining(steps=args.steps))
    texts = [data.captions[i][0] for i in test]
    groups = {text: g for g, text in enumerate(dict.fromkeys(texts))}  # same sentence = same owner (no tie)
    owners = np.array([groups[t] for t in texts])
    true = torch.from_numpy(data.embeddings[test, 0])
    pool_index = [texts.index(t) for t in groups]
    pool, pool_owner = true[pool_index], np.arange(len(groups))
    scores = {"real test images": r_precision(encoder, centre(load_images(data, test, SIZE)), true, pool,
                                              pool_owner, owners)}
    for stage in ("stage1", "stage2"):
        found = list_checkpoints(args.run / "model" / stage)
        if not found:
            continue
        pipeline, arch, _ = pipeline_from_checkpoint(load_checkpoint(found[0]), found[0])
        z, eps1, eps2 = noise(list(range(len(test))), z_dim=arch["z_dim"], condition_dim=arch["condition_dim"])
        with torch.no_grad():
            fakes = pipeline(true, z, eps1, eps2)
        scores[f"{stage} images ({fakes.shape[-1]} px)"] = r_precision(encoder, fakes, true, pool, pool_owner, owners)
    print(f"R-precision (top-1 of {min(100, len(groups))} captions; chance {1 / min(100, len(groups)):.3f}), "
          f"{len(test)} test images, encoder trained {args.steps} steps on {len(train)} pairs "
          f"({time.monotonic() - start:.0f} s on a shared CPU):")
    for name, value in scores.items():
        print(f"  {name}: {value:.3f}")


if __name__ == "__main__":
    main()
