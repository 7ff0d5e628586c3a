"""`ganfactory generate`, `interpolate`: StyleGAN's sampling commands (`ganfactory stylegan` itself is made
from the operator's spec by ganfactory.operators.command)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ganfactory.cli_options import config_from_options, config_options
from ganfactory.operators.stylegan.config import StyleGANConfig, StyleGANSampleOptions
from ganfactory.operators.stylegan.spec import STYLEGAN

PATH = click.Path(path_type=Path)


@click.command("generate")
@click.argument("model", type=PATH)
@click.argument("out", type=PATH)
@config_options(StyleGANSampleOptions)
def generate_command(model: Path, out: Path, **options: Any) -> None:
    """Generate images from a trained StyleGAN MODEL (run folder, .pt checkpoint or .onnx) into OUT.

    The architecture, resolution and classes come from MODEL. Images OUT already holds from the same model
    and parameters are kept; those made with another model, seed, truncation or class are replaced (files
    and manifest lines)."""
    from ganfactory.engine.driver import run_operator
    from ganfactory.operators.model_identity import require_model_of

    require_model_of(model, STYLEGAN, hint="generate")
    sample = config_from_options(StyleGANSampleOptions, options)
    config = StyleGANConfig(**sample.model_dump(), predict=True, resume=str(model))
    result = run_operator(STYLEGAN, (), out, config, sampler_only=True)
    click.echo(f"Wrote {result.images_written} images to {result.run.data_dir}")
    click.echo(f"Manifest: {result.run.manifest_path}")


@click.command("interpolate")
@click.argument("run", type=PATH)
@click.option("--seeds", default="1,5,9", show_default=True, help="Comma-separated seeds to morph between, in order.")
@click.option("--frames", default=60, show_default=True, type=click.IntRange(2, 10000),
              help="Frames between two seeds.")
@click.option("--class-name", "class_name", default=None, help="Class to morph within (conditional models).")
@click.option("--truncation", default=1.0, show_default=True, type=float)
@click.option("--output", type=PATH, default=None, help="GIF path [default: RUN/samples/interpolation_<seeds>.gif].")
def interpolate_command(run: Path, seeds: str, frames: int, class_name: str | None, truncation: float,
                        output: Path | None) -> None:
    """Write a GIF that morphs between seeds in W space."""
    from ganfactory.operators.model_identity import require_model_of
    from ganfactory.operators.stylegan.interpolate import interpolate_run

    require_model_of(run, STYLEGAN, hint="interpolate")

    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise click.BadParameter("use whole numbers separated by commas, e.g. 1,5,9", param_hint="--seeds") from None
    path = interpolate_run(run, seeds=seed_list, frames=frames, class_name=class_name, truncation=truncation,
                           output=output)
    click.echo(f"Wrote {path}")


def register(group: click.Group) -> None:
    group.add_command(generate_command)
    group.add_command(interpolate_command)
