"""`ganfactory validate` and `ganfactory prepare`: parse, call ganfactory.data (and ganfactory.metrics for
`--outliers`), print the summary. It lives beside cli.py, not in data/, because it uses both subpackages."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click

from ganfactory.config import check_power_of_two

PATH = click.Path(path_type=Path)


def _power_of_two(ctx: click.Context, param: click.Parameter, value: int) -> int:
    try:
        return check_power_of_two(value, minimum=4, maximum=4096)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("validate")
@click.argument("data", type=PATH)
@click.option("--resolution", default=256, show_default=True, callback=_power_of_two,
              help="Target training resolution; smaller images are reported (they would be upscaled).")
@click.option("--min-images", default=70, show_default=True, type=click.IntRange(1),
              help="Fewest images a class needs (StyleGAN2-ADA's minimum is 70).")
@click.option("--max-imbalance", default=10.0, show_default=True, type=click.FloatRange(1),
              help="Largest/smallest class ratio above which imbalance is reported.")
@click.option("--json", "json_path", type=PATH, default=None, help="Where to write validation.json.")
@click.option("--outliers", is_flag=True, help="Also list images far from the rest of their class (never deleted).")
@click.option("--outliers-out", type=PATH, default=None, help="Where outliers.json/.png go (default: DATA-outliers).")
@click.option("--features", type=PATH, default=None, help="Feature network for --outliers (TorchScript or ONNX).")
def validate_command(data: Path, resolution: int, min_images: int, max_imbalance: float,
                     json_path: Path | None, outliers: bool, outliers_out: Path | None,
                     features: Path | None) -> None:
    """Check an image folder once and report what a run would use. Exit 0 when the data is usable."""
    from ganfactory.data.commands import run_validate

    report = run_validate(data, resolution=resolution, min_images=min_images, json_path=json_path,
                          max_imbalance=max_imbalance)
    for line in report.summary_lines():
        click.echo(line)
    if outliers:
        from ganfactory.metrics.outlier_check import find_outliers

        for line in find_outliers(data, out=outliers_out, features=features).summary_lines():
            click.echo(line)
    if not report.usable:  # the summary already named each problem; exit like any other input error
        raise click.exceptions.Exit(2)


@click.command("prepare")
@click.argument("data", type=PATH)
@click.argument("out", type=PATH)
@click.option("--resolution", default=256, show_default=True, callback=_power_of_two,
              help="Output side length (a power of two).")
@click.option("--mode", type=click.Choice(["crop", "pad"]), default="crop", show_default=True,
              help="Square by centre crop, or by padding with the background colour.")
@click.option("--background", default="white", show_default=True,
              help="Padding/transparency colour: name, #rrggbb or r,g,b.")
@click.option("--channels", type=click.Choice(["1", "3"]), default="3", show_default=True)
@click.option("--dedupe/--no-dedupe", default=False, show_default=True,
              help="Also drop near duplicates (exact ones are always dropped).")
@click.option("--dedupe-threshold", default=4, show_default=True, type=click.IntRange(0, 64),
              help="Largest perceptual-hash distance (bits of 64) that counts as a near duplicate.")
@click.option("--remove-background", is_flag=True, default=False,
              help="Replace the background (OpenCV GrabCut) with --background; writes OUT/.background_sheet.png "
                   "(before/after) and flags doubtful images in the report. Needs ganfactory[background].")
def prepare_command(data: Path, out: Path, resolution: int, mode: Literal["crop", "pad"], background: str,
                    channels: str,
                    dedupe: bool, dedupe_threshold: int, remove_background: bool) -> None:
    """Square, resize and de-duplicate DATA into OUT, keeping the class folders; DATA is never changed."""
    from ganfactory.data.prepare import prepare_dataset

    report = prepare_dataset(data, out, resolution=resolution, mode=mode, background=background,
                             channels=int(channels), dedupe=dedupe, dedupe_threshold=dedupe_threshold,
                             remove_background=remove_background)
    for line in report.summary_lines():
        click.echo(line)


def register(group: click.Group) -> None:
    group.add_command(validate_command)
    group.add_command(prepare_command)
