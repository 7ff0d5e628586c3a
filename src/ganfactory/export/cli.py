"""`ganfactory export RUN`: the run's generator as ONNX (the operator is read from the checkpoint)."""

from __future__ import annotations

from pathlib import Path

import click

from ganfactory.errors import CheckpointError
from ganfactory.output.overlap import recorded_inputs, refuse_overlap


def export_run(run: Path, output: Path | None = None) -> Path:
    from ganfactory.engine.checkpoint import load_checkpoint, resolve_checkpoint_path  # torch: only when exporting

    checkpoint = resolve_checkpoint_path(run)
    state = load_checkpoint(checkpoint)["operator"]
    root = run if run.is_dir() and (run / "model").is_dir() else checkpoint.parent.parent
    output = output or root / "model" / "generator.onnx"
    refuse_overlap(inputs=[checkpoint, *recorded_inputs(checkpoint)], outputs=[output], command="export")
    operator = state.get("operator", "stylegan" if "G_ema" in state else None)
    if operator == "stylegan":
        from ganfactory.export.stylegan import export_stylegan

        return export_stylegan(state, output)
    if operator == "cyclegan":
        from ganfactory.export.cyclegan import export_cyclegan

        return export_cyclegan(state, output)
    raise CheckpointError(f"{checkpoint} holds no exportable generator; pass a stylegan or cyclegan run folder.")


@click.command("export")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="Where to write the .onnx file [default: RUN/model/generator.onnx].")
def export_command(run: Path, output: Path | None) -> None:
    """Export the generator of RUN (a run folder or checkpoint) as ONNX with a dynamic batch."""
    click.echo(f"Wrote {export_run(run, output)}")


def register(group: click.Group) -> None:
    group.add_command(export_command)
