"""`ganfactory export RUN`: the run's generator as ONNX, by the exporter of the operator that wrote it."""

from __future__ import annotations

from pathlib import Path

import click

from ganfactory.errors import CheckpointError
from ganfactory.output.layout import RunFolder
from ganfactory.output.overlap import recorded_inputs, refuse_overlap
from ganfactory.output.writable import require_writable_output


def export_run(run: Path, output: Path | None = None) -> Path:
    """Export RUN (a run folder or checkpoint) to `output` (default RUN/model/generator.onnx).

    Raises CheckpointError when no checkpoint is found or its operator has nothing to export."""
    # torch: only when exporting
    from ganfactory.engine.checkpoint import checkpoint_run_root, load_checkpoint, resolve_checkpoint_path
    from ganfactory.operators.registry import operator_of_checkpoint

    run = Path(run)
    checkpoint = resolve_checkpoint_path(run)
    state = load_checkpoint(checkpoint)
    spec = operator_of_checkpoint(state)
    if spec is None or spec.exporter is None:
        what = f"the {spec.name} operator has no exporter" if spec else "it holds no ganfactory generator"
        raise CheckpointError(f"{checkpoint} cannot be exported: {what}; pass a run folder of an operator that "
                              "exports (stylegan, cyclegan).")
    root = run if run.is_dir() and RunFolder(run).model_dir.is_dir() else checkpoint_run_root(checkpoint)
    output = output or RunFolder(root).onnx_path
    refuse_overlap(inputs=[checkpoint, *recorded_inputs(checkpoint)], outputs=[output], command="export")
    require_writable_output(Path(output).parent)
    return spec.exporter(state, output)


@click.command("export")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="Where to write the .onnx file [default: RUN/model/generator.onnx].")
def export_command(run: Path, output: Path | None) -> None:
    """Export the generator of RUN (a run folder or checkpoint) as ONNX with a dynamic batch."""
    click.echo(f"Wrote {export_run(run, output)}")


def register(group: click.Group) -> None:
    group.add_command(export_command)
