"""The work behind `ganfactory evaluate`: features of both sets, every figure, metrics.json, TensorBoard, pairs grid.

Nothing here prints; the CLI shows `summary_lines(report)`.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganfactory.data.discovery import discover_images, match_class_names
from ganfactory.data.imageio import load_image, pil_to_tensor, resize
from ganfactory.data.split import resolve_split
from ganfactory.engine.signals import StopRequest
from ganfactory.engine.stats import StatsLogger
from ganfactory.metrics.compare import compare_feature_sets, memorisation_report
from ganfactory.metrics.features import FeatureSet, folder_features
from ganfactory.metrics.loaders import load_feature_network
from ganfactory.metrics.memorisation import COSINE_THRESHOLD, PIXEL_THRESHOLD
from ganfactory.metrics.sources import ImageSource, open_source
from ganfactory.output.atomic import atomic_write_json
from ganfactory.output.images import save_grid
from ganfactory.output.layout import LOGS_DIR
from ganfactory.output.overlap import refuse_overlap
from ganfactory.output.writable import require_writable_output

log = logging.getLogger(__name__)

SCALARS = ("fid", "kid", "precision", "recall", "density", "coverage")


@dataclass(frozen=True)
class EvaluateOptions:
    """How to evaluate: network file (None: the shipped Inception), bootstrap rounds, thresholds, where to write."""

    features: Path | None = None
    backend: str = "auto"  # metrics/loaders.resolve_backend; the precision used goes into metrics.json
    input_size: int | None = None
    rounds: int = 100
    level: float = 0.95
    seed: int = 0
    cosine_threshold: float = COSINE_THRESHOLD
    pixel_threshold: float = PIXEL_THRESHOLD
    out: Path | None = None
    cache_dir: Path | None = None
    batch_size: int = 32


@dataclass
class EvaluateResult:
    report: dict[str, Any]
    metrics_path: Path
    pairs_path: Path | None
    written: list[Path] = field(default_factory=list)


def output_folder(source: ImageSource, out: Path | None) -> Path:
    """The run folder for a run; else --out, else `<folder>-evaluation` beside the folder (inputs stay untouched)."""
    if out is not None:
        return Path(out)
    if source.run is not None:
        return source.run.root
    return source.root.parent / f"{source.root.resolve().name}-evaluation"


def run_evaluate(target: Path, real: Path, *, options: EvaluateOptions) -> EvaluateResult:
    """Evaluate generated images (run folder or image folder) against the real images in `real`.

    Raises InputError for a missing or empty folder, an unusable feature network, an --out that overlaps an
    input or cannot be written.
    """
    started = time.time()
    source = open_source(target)
    out = output_folder(source, options.out)
    _refuse_writing_into_inputs(out, Path(real), source)
    require_writable_output(out, out / LOGS_DIR)  # before the features, not after them
    real_classes = discover_images(resolve_split(Path(real)).train).classes  # DATA/train when DATA is split
    real_classes = _as_generated_classes(real_classes, list(source.classes))
    network = load_feature_network(options.features, backend=options.backend, input_size=options.input_size,
                                   batch_size=options.batch_size)
    with StopRequest() as stop:  # SIGTERM / Ctrl-C: stop after the chunk in hand, its features cached (exit 75)
        generated_set = folder_features(source.root, source.classes, network=network, cache_dir=options.cache_dir,
                                        stop=stop)
        real_set = folder_features(Path(real), real_classes, network=network, cache_dir=options.cache_dir,
                                   stop=stop)
    report = compare_feature_sets(real_set, generated_set, rounds=options.rounds, seed=options.seed,
                                  level=options.level)
    report["memorisation"], nearest = memorisation_report(real_set, generated_set,
                                                          cosine_threshold=options.cosine_threshold,
                                                          pixel_threshold=options.pixel_threshold)
    report.update(_provenance(source, Path(real), generated_set, real_set, options, time.time() - started))
    pairs_path = _write_pairs(report["memorisation"]["closest_pairs"], out)
    metrics_path = atomic_write_json(out / "metrics.json", _json_ready(report))
    _tensorboard(report, out, source)
    return EvaluateResult(report=report, metrics_path=metrics_path, pairs_path=pairs_path)


def _as_generated_classes(real: dict[str, list[Path]], generated: list[str]) -> dict[str, list[Path]]:
    """The real classes under the generated set's names: 'cats' real and 'Cats' generated are one class, and so
    are two single-level folders (each named after itself)."""
    if len(real) == 1 and len(generated) == 1:
        return {generated[0]: next(iter(real.values()))}
    same = match_class_names(real, generated)
    return {same[name]: paths for name, paths in real.items()}


def _refuse_writing_into_inputs(out: Path, real: Path, source: ImageSource) -> None:
    """The shared rule (output.overlap), both directions and through symlinks, for OUT and what goes in it.
    A run's own folder is its default OUT: its Data/ only has to stay apart from the files written there."""
    files = [out / "metrics.json", out / "memorisation_pairs.png", out / LOGS_DIR]
    refuse_overlap(inputs=[real] + ([] if source.run else [source.root]), outputs=[out, *files], command="evaluate")
    refuse_overlap(inputs=[source.run.data_dir if source.run else source.root], outputs=files, command="evaluate")


def _provenance(source: ImageSource, real: Path, generated: FeatureSet, real_set: FeatureSet,
                options: EvaluateOptions, seconds: float) -> dict[str, Any]:
    return {"network": generated.network.as_dict(), "generated": str(source.root), "real": str(real),
            "bootstrap_rounds": options.rounds, "seed": options.seed, "seconds": round(seconds, 2),
            "features_reused": {"generated": generated.reused, "real": real_set.reused},
            "classes": {"generated": generated.class_names, "real": real_set.class_names}}


def _write_pairs(pairs: list[dict[str, Any]], out: Path, *, side: int = 64) -> Path | None:
    """A grid of the closest (generated, training) pairs, four pairs a row, generated image first."""
    if not pairs:
        return None
    tiles = []
    for pair in pairs:
        for key in ("generated", "training"):
            image = resize(load_image(Path(pair[key]), channels=3), (side, side))
            tiles.append(pil_to_tensor(image))
    return save_grid(torch.stack(tiles), out / "memorisation_pairs.png", columns=8)


def _tensorboard(report: dict[str, Any], out: Path, source: ImageSource) -> None:
    """One scalar per figure (overall and per class) under evaluate/, at the run's progress step."""
    values = {}
    for scope, figures in [("overall", report["overall"]), *report["per_class"].items()]:
        for name in SCALARS:
            if isinstance(figures.get(name), dict) and np.isfinite(figures[name]["value"]):
                values[f"evaluate/{scope}/{name}"] = figures[name]["value"]
    values["evaluate/overall/memorisation_rate"] = report["memorisation"]["rate"]
    logger = StatsLogger(out / LOGS_DIR, enabled=True, tensorboard=True)
    try:
        logger.scalars(values, step=_progress_step(source))
    finally:
        logger.close()


def _progress_step(source: ImageSource) -> int:
    """The run's progress (kimg or epochs done) from its progress file, else 0."""
    progress = source.run.progress_path if source.run is not None else None
    if progress is None or not progress.is_file():
        return 0
    try:
        return int(round(float(json.loads(progress.read_text(encoding="utf-8"))["done"])))
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def _json_ready(value: Any) -> Any:
    """NaN and infinity become null, so metrics.json is strict JSON."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The console table: one row per scope (overall, then each class), each figure with its interval."""
    level = int(round(100 * report["overall"].get("fid", {}).get("level", 0.95)))
    lines = [f"network: {report['network']['name']} (sha256 {report['network']['sha256'][:12]}…, "
             f"{report['network']['backend']}, {report['network'].get('precision', 'fp32')})",
             f"{'scope':<16} {'n_real':>6} {'n_gen':>6}  " + "  ".join(f"{n:<26}" for n in SCALARS)]
    for scope, figures in [("overall", report["overall"]), *report["per_class"].items()]:
        cells = [_cell(figures.get(name)) for name in SCALARS]
        lines.append(f"{scope[:16]:<16} {figures['n_real']:>6} {figures['n_generated']:>6}  "
                     + "  ".join(f"{c:<26}" for c in cells))
    lines.append(f"intervals: {level}% bootstrap ({report['bootstrap_rounds']} rounds); FID-infinity "
                 f"{_number(report['overall'].get('fid_infinity'))}. "
                 f"{report['overall'].get('fid', {}).get('bias_note', '')}")
    memo = report["memorisation"]
    lines.append(f"memorisation: {memo['count']} of {report['overall']['n_generated']} generated images are "
                 f"near-copies of a training image (rate {_number(memo['rate'])}; cosine >= "
                 f"{memo['cosine_threshold']} or thumbnail RMSE <= {memo['pixel_rmse_threshold']}); "
                 f"highest cosine {_number(memo['max_cosine'])}.")
    return lines


def _cell(figure: dict[str, float] | None) -> str:
    if not figure:
        return "-"
    return f"{_number(figure['value'])} [{_number(figure['low'])}, {_number(figure['high'])}]"


def _number(value: float | None) -> str:
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:.3g}"
