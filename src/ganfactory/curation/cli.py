"""`ganfactory curate export RUN OUT`."""

from __future__ import annotations

from pathlib import Path

import click

from ganfactory.curation.export import export_curated

PATH = click.Path(path_type=Path)


@click.group("curate")
def curate_group() -> None:
    """Work with the accept/reject decisions made in the console (RUN/curation.json)."""


@curate_group.command("export")
@click.argument("run", type=PATH)
@click.argument("out", type=PATH)
def export_command(run: Path, out: Path) -> None:
    """Copy the accepted images of RUN to OUT (OUT/<class>/...) with a manifest of them only."""
    result = export_curated(run, out)
    click.echo(f"Exported {result.written} accepted image(s) of {result.total} to {result.out} "
               f"({result.rejected} rejected, {result.total - result.written - result.rejected - result.missing} "
               "undecided)")
    if result.missing:
        click.echo(f"{result.missing} accepted image(s) were missing from the run folder and were left out.")
    click.echo(f"Manifest: {result.manifest}")


def register(group: click.Group) -> None:
    group.add_command(curate_group)
