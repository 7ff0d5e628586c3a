"""`ganfactory cyclegan SOURCE TARGET OUT`: parse, call the operator, print where the results are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ganfactory.cli_options import config_from_options, config_options
from ganfactory.operators.cyclegan.config import CycleGANConfig

PATH = click.Path(path_type=Path)


@click.command("cyclegan")
@click.argument("source", type=PATH)
@click.argument("target", type=PATH)
@click.argument("out", type=PATH)
@config_options(CycleGANConfig)
def cyclegan_command(source: Path, target: Path, out: Path, **options: Any) -> None:
    """Train CycleGAN between SOURCE and TARGET (unpaired), then translate every SOURCE image into OUT/Data.

    With --predict --resume MODEL it only translates SOURCE (TARGET is not read).
    """
    from ganfactory.engine.distributed import is_main_process
    from ganfactory.operators.cyclegan.operator import run_cyclegan

    result = run_cyclegan(source, target, out, config_from_options(CycleGANConfig, options))
    if not is_main_process():  # under torchrun only rank 0 reports
        return
    click.echo(f"Translated {result.images_written} images into {result.run.data_dir}")
    click.echo(f"Manifest: {result.run.manifest_path}")
    click.echo(f"Checkpoint: {result.checkpoint}")


def register(group: click.Group) -> None:
    group.add_command(cyclegan_command)
