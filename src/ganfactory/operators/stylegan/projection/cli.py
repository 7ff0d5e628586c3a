"""`ganfactory project RUN IMAGES OUT`: real images to StyleGAN latents, an extra command the StyleGAN spec
declares (`commands`); `datasetgan add-real` reads what it writes."""

from __future__ import annotations

from pathlib import Path

import click

from ganfactory.engine.contract import OperatorSpec
from ganfactory.operators.stylegan.projection.perceptual import PERCEPTUAL_CHOICES

PATH = click.Path(path_type=Path)


def project_command(spec: OperatorSpec) -> click.Command:
    """`ganfactory project RUN IMAGES OUT` for `spec`'s (StyleGAN's) runs."""

    @click.command("project")
    @click.argument("run", type=PATH)
    @click.argument("images", type=PATH)
    @click.argument("out", type=PATH)
    @click.option("--space", type=click.Choice(["w", "w+"]), default="w", show_default=True,
                  help="w: one latent for all layers; w+: one per layer, refined from the W result (twice the steps).")
    @click.option("--steps", type=click.IntRange(1, 100000), default=1000, show_default=True,
                  help="Optimisation steps (per stage: w+ runs the W search, then as many W+ steps).")
    @click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=0.1, show_default=True,
                  help="Peak Adam learning rate.")
    @click.option("--perceptual", type=click.Choice(PERCEPTUAL_CHOICES), default="discriminator", show_default=True,
                  help="Perceptual loss: the run's discriminator blocks (default: closest per second), the FID "
                       "Inception's early layers (closest per step, ~9x dearer per step), or none (pixel MSE only).")
    @click.option("--pixel-weight", type=click.FloatRange(min=0), default=1.0, show_default=True,
                  help="Weight of the pixel MSE (images in [-1, 1]) added to the perceptual distance.")
    @click.option("--seed", type=int, default=0, show_default=True, help="Seed of the latent noise and w statistics.")
    @click.option("--class", "class_name", default=None,
                  help="Class of every image (conditional runs); default: the image's subfolder when it names a class.")
    @click.option("--batch", type=click.IntRange(1, 4096), default=64, show_default=True,
                  help="Images optimised together.")
    @click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
    def project(run: Path, images: Path, out: Path, space: str, steps: int, lr: float, perceptual: str,
                pixel_weight: float, seed: int, class_name: str | None, batch: int, device: str) -> None:
        """Find the latents of a StyleGAN RUN that reproduce the real images in IMAGES; write them to OUT.

        Follows the projector of Karras et al. 2020 (StyleGAN2, appendix D) with an offline perceptual loss.
        OUT gets latents.safetensors (for 'datasetgan add-real'), reconstructions/, targets/, comparison.png and
        projection.json with the PSNR of every image."""
        from ganfactory.engine.precision import resolve_device
        from ganfactory.operators.model_identity import require_model_of
        from ganfactory.operators.stylegan.projection.optimise import ProjectionSettings
        from ganfactory.operators.stylegan.projection.run import project_folder

        require_model_of(run, spec, hint="project")
        settings = ProjectionSettings(space=space, steps=steps, lr=lr,  # type: ignore[arg-type]
                                      pixel_weight=pixel_weight)
        report = project_folder(run, images, out, settings=settings, perceptual=perceptual,  # type: ignore[arg-type]
                                class_name=class_name, seed=seed, device=resolve_device(device), batch=batch)
        click.echo(f"Projected {report.count} images into {report.out} ({space}, {perceptual} perceptual loss): "
                   f"mean PSNR {report.mean_psnr_db:.2f} dB, {report.seconds_per_image:.2f} s per image.")

    return project
