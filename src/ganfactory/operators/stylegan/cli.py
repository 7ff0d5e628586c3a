"""`ganfactory interpolate`: StyleGAN's own extra command, declared by its spec (`commands`). `ganfactory stylegan`
is made from the spec by ganfactory.operators.command, and `ganfactory generate` dispatches to the spec's sampler
(ganfactory.operators.generate_command)."""

from __future__ import annotations

from pathlib import Path

import click

from ganfactory.engine.contract import OperatorSpec

PATH = click.Path(path_type=Path)


def interpolate_command(spec: OperatorSpec) -> click.Command:
    """`ganfactory interpolate RUN`: a GIF morphing between seeds of `spec`'s models."""

    @click.command("interpolate")
    @click.argument("run", type=PATH)
    @click.option("--seeds", default="1,5,9", show_default=True,
                  help="Comma-separated seeds to morph between, in order.")
    @click.option("--frames", default=60, show_default=True, type=click.IntRange(2, 10000),
                  help="Frames between two seeds.")
    @click.option("--class-name", "class_name", default=None, help="Class to morph within (conditional models).")
    @click.option("--truncation", default=1.0, show_default=True, type=float)
    @click.option("--output", type=PATH, default=None,
                  help="GIF path [default: RUN/samples/interpolation_<seeds>.gif].")
    def interpolate(run: Path, seeds: str, frames: int, class_name: str | None, truncation: float,
                    output: Path | None) -> None:
        """Write a GIF that morphs between seeds in W space."""
        from ganfactory.operators.model_identity import require_model_of
        from ganfactory.operators.stylegan.interpolate import interpolate_run

        require_model_of(run, spec, hint="interpolate")
        try:
            seed_list = [int(s) for s in seeds.split(",") if s.strip()]
        except ValueError:
            raise click.BadParameter("use whole numbers separated by commas, e.g. 1,5,9",
                                     param_hint="--seeds") from None
        path = interpolate_run(run, seeds=seed_list, frames=frames, class_name=class_name, truncation=truncation,
                               output=output)
        click.echo(f"Wrote {path}")

    return interpolate
