"""`ganfactory project RUN IMAGES OUT`: project a folder of real images and write what DatasetGAN and users need.

OUT/latents.safetensors  ws [N, num_ws, w_dim], ids, classes and the checkpoint sha256 (as `datasetgan sample`)
OUT/targets/<id>.png     the real image as projected (square-cropped, resized to G's size and channels)
OUT/reconstructions/<id>.png   G(w) of the found latent (constant noise)
OUT/comparison.png       real and reconstructed side by side, pair by pair
OUT/projection.json      per image: id, source, PSNR (dB), losses, space; and the settings
Every file is written atomically; IMAGES is only read.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ganfactory.engine.checkpoint import find_checkpoint
from ganfactory.errors import InputError
from ganfactory.operators.datasetgan.generator import write_latents
from ganfactory.operators.stylegan.projection.networks import ProjectionNetworks, load_projection_networks
from ganfactory.operators.stylegan.projection.optimise import (
    ProjectionResult,
    ProjectionSettings,
    project,
    w_statistics,
)
from ganfactory.operators.stylegan.projection.perceptual import Perceptual, perceptual_features
from ganfactory.operators.stylegan.projection.targets import Targets, load_targets
from ganfactory.output.atomic import atomic_write_json
from ganfactory.output.images import save_grid, save_image, to_uint8
from ganfactory.output.overlap import recorded_inputs, refuse_overlap
from ganfactory.output.writable import require_writable_output

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProjectionReport:
    """What the command prints: where the files are, mean PSNR in dB, seconds per image."""

    out: Path
    count: int
    mean_psnr_db: float
    seconds_per_image: float


def psnr_db(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per image [N] PSNR in dB between uint8 images [N, C, H, W] (peak 255; identical images give inf)."""
    mse = (a.float() - b.float()).square().flatten(1).mean(dim=1)
    return 10.0 * torch.log10(255.0 ** 2 / mse)


def project_folder(run: Path, images: Path, out: Path, *, settings: ProjectionSettings, perceptual: Perceptual,
                   class_name: str | None, seed: int, device: torch.device, batch: int = 64) -> ProjectionReport:
    """Project every image of IMAGES with the StyleGAN RUN into OUT (see the module docstring).
    Raises InputError for an OUT that overlaps IMAGES, the run's checkpoint or its training data or cannot be
    written, an empty folder or an unreadable image, CheckpointError for a
    RUN that is not a StyleGAN run."""
    if settings.steps < 1:
        raise InputError("Give --steps N (at least 1): the optimisation steps per image.")
    out, images = Path(out), Path(images)
    _refuse_overlap(Path(run), images, out)
    require_writable_output(out, out / "targets", out / "reconstructions")  # before the long part
    nets = load_projection_networks(run, device=device, with_discriminator=perceptual == "discriminator")
    G = nets.G
    targets = load_targets(images, resolution=G.resolution, channels=G.img_channels, class_names=nets.class_names,
                           class_name=class_name)
    features = perceptual_features(perceptual, D=nets.D, device=device)
    torch.manual_seed(seed)
    start = time.perf_counter()
    results = []
    for first in range(0, len(targets.ids), batch):
        part = slice(first, first + batch)
        w_avg, w_std = w_statistics(G, classes=targets.classes[part], seed=seed)
        results.append(project(G, targets.as_float()[part].to(device), w_avg=w_avg, w_std=w_std, features=features,
                               settings=settings))
        log.info("Projected %d of %d images.", min(first + batch, len(targets.ids)), len(targets.ids))
    seconds = (time.perf_counter() - start) / len(targets.ids)
    result = _concatenate(results)
    psnr = psnr_db(to_uint8(result.images), targets.images)
    _write(out, nets=nets, targets=targets, result=result, psnr=psnr, run=Path(run),
           record={**asdict(settings), "perceptual": perceptual, "seed": seed, "seconds_per_image": seconds})
    return ProjectionReport(out=out, count=len(targets.ids), mean_psnr_db=float(psnr.mean()), seconds_per_image=seconds)


def _refuse_overlap(run: Path, images: Path, out: Path) -> None:
    """IMAGES, the run's checkpoint and the data it was trained on are only read: OUT and every place in it
    that is written must lie apart from them (re-projecting OUT/reconstructions into OUT overwrote them)."""
    written = [out, out / "targets", out / "reconstructions", out / "comparison.png", out / "latents.safetensors",
               out / "projection.json"]
    refuse_overlap(inputs=[images, find_checkpoint(run), *recorded_inputs(run)], outputs=written, command="project")


def _concatenate(results: list[ProjectionResult]) -> ProjectionResult:
    return ProjectionResult(**{name: torch.cat([getattr(r, name).cpu() for r in results])
                               for name in ("ws", "images", "initial_loss", "w_loss", "final_loss")})


def _write(out: Path, *, nets: ProjectionNetworks, targets: Targets, result: ProjectionResult, psnr: torch.Tensor,
           run: Path, record: dict) -> None:
    reconstructions = to_uint8(result.images)
    for sid, target, image in zip(targets.ids, targets.images, reconstructions):
        save_image(target, out / "targets" / f"{sid}.png")
        save_image(image, out / "reconstructions" / f"{sid}.png")
    pairs = torch.stack([targets.images, reconstructions], dim=1).flatten(0, 1)
    save_grid(pairs, out / "comparison.png", columns=min(16, pairs.shape[0]))
    names = [nets.class_names[c] if c is not None else None for c in targets.classes]
    meta = {"checkpoint_sha256": nets.checkpoint_sha256, "run": str(run.resolve()), "space": record["space"],
            "perceptual": record["perceptual"], "projected": "true"}
    write_latents(out / "latents.safetensors", ws=result.ws, seeds=[-1] * len(targets.ids), classes=targets.classes,
                  ids=targets.ids, metadata=meta)
    per_image = [{"id": sid, "source": str(path.resolve()), "target": f"targets/{sid}.png",
                  "reconstruction": f"reconstructions/{sid}.png", "class_index": c, "class_name": name,
                  "psnr_db": round(float(p), 3), "initial_loss": float(a), "w_loss": float(b), "final_loss": float(f),
                  "space": record["space"]}
                 for sid, path, c, name, p, a, b, f in zip(targets.ids, targets.paths, targets.classes, names, psnr,
                                                           result.initial_loss, result.w_loss, result.final_loss)]
    atomic_write_json(out / "projection.json", {
        "run": str(run.resolve()), "checkpoint_sha256": nets.checkpoint_sha256, "settings": record,
        "mean_psnr_db": round(float(psnr.mean()), 3), "images": per_image})
    log.info("Wrote %d projections to %s.", len(per_image), out)
