"""`ganfactory datasetgan sample|add-real|train|generate|evaluate`: the operator's steps as one command group.
Every step but add-real (a quick copy) is a StepCommand, so `ganfactory jobs submit datasetgan STEP ...` queues
it as a typed request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ganfactory.cli_options import config_from_options
from ganfactory.engine.contract import OperatorSpec
from ganfactory.operators.command import step
from ganfactory.operators.datasetgan.config import (
    DatasetGANConfig,
    GenerateOptions,
    SampleOptions,
    SegmentationEvalConfig,
)

# Run options `train` does not read: it starts from OUT (no --resume, no images to validate), writes PNG pairs, and
# computes in fp32 whatever --precision would say (see datasetgan.config).
_SKIP = ("predict", "resume", "do_validation", "min_images", "image_format", "precision")


def _echo_report(spec: OperatorSpec, result: Any) -> None:
    for line in spec.report(result) if spec.report else []:
        click.echo(line)


def datasetgan_group(spec: OperatorSpec) -> click.Group:
    @click.group(spec.name, help=spec.summary)
    def group() -> None:
        pass

    @step(group, spec, "sample", config_model=SampleOptions, input_names=("run",))
    def sample(run: Path, out: Path, **options: Any) -> None:
        """Write --num images of a StyleGAN RUN to annotate into OUT/annotation (with latents, classes.json)."""
        from ganfactory.engine.precision import resolve_device
        from ganfactory.operators.datasetgan.sample import sample_for_annotation

        config = config_from_options(SampleOptions, options)
        folder = sample_for_annotation(run, out, config, device=resolve_device(config.device))
        click.echo(f"Annotate the images in {folder / 'images'}: masks go in {folder / 'masks'} "
                   f"(index PNG, RGB colours of {folder / 'classes.json'}, or LabelMe JSON).")

    @group.command("add-real")
    @click.argument("out", type=click.Path(path_type=Path))
    @click.argument("projection", type=click.Path(path_type=Path))
    def add_real_command(out: Path, projection: Path) -> None:
        """Add real images projected by 'ganfactory project RUN IMAGES PROJECTION' to OUT's samples to annotate."""
        from ganfactory.operators.datasetgan.layout import annotation_folder
        from ganfactory.operators.datasetgan.real import add_real

        added = add_real(out, projection)
        folder = annotation_folder(out)
        click.echo(f"Added {len(added)} real images to {folder.images_dir}; draw their masks on those images "
                   f"(G's reconstructions are in {folder.reconstructions_dir}).")

    @step(group, spec, "train", config_model=DatasetGANConfig, skip=_SKIP)
    def train(out: Path, **options: Any) -> None:
        """Train the style interpreter on OUT's annotated samples (and generate --num pairs, if given)."""
        from ganfactory.engine.driver import run_operator

        result = run_operator(spec, (), out, config_from_options(DatasetGANConfig, options))
        _echo_report(spec, result)

    @step(group, spec, "generate", config_model=GenerateOptions)
    def generate(out: Path, **options: Any) -> None:
        """Write --num image + mask pairs with OUT's trained interpreter, the most uncertain dropped."""
        from ganfactory.engine.driver import run_operator

        chosen = config_from_options(GenerateOptions, options)
        config = DatasetGANConfig(**chosen.model_dump(), resume=str(out), predict=True)
        result = run_operator(spec, (), out, config, sampler_only=True)
        _echo_report(spec, result)

    @step(group, spec, "evaluate", config_model=SegmentationEvalConfig, paths=("real_test",))
    def evaluate(out: Path, **options: Any) -> None:
        """Train a U-Net on OUT's annotated images and on its generated pairs; print the mIoU of each on the real
        annotated images of --real-test DIR (DIR/images, DIR/masks). Writes OUT/evaluation/segmentation.json."""
        from ganfactory.operators.datasetgan.evaluate import evaluate_segmentation, evaluation_path, format_report

        report = evaluate_segmentation(out, config_from_options(SegmentationEvalConfig, options))
        for line in format_report(report):
            click.echo(line)
        click.echo(f"Written: {evaluation_path(out)}")

    return group
