"""Writing `generate_num` images per class into Data/ with one manifest line each, resumably, optionally through
the memorisation gate (metrics/gate.py) and the class-confidence filter (metrics/confidence.py): a near-copy of a
training image, or an image a real-data classifier does not find to be of its class, is never written, and the
next seed is drawn in its place so every class still gets its count."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from ganfactory.engine.precision import FP32, Precision
from ganfactory.engine.signals import StopRequest
from ganfactory.engine.stats import update_progress
from ganfactory.metrics.confidence import ClassConfidenceFilter, ConfidenceRecord
from ganfactory.metrics.gate import MemorisationGate, NearestRecord
from ganfactory.operators.stylegan.models import synthesize
from ganfactory.operators.stylegan.networks import Generator
from ganfactory.operators.stylegan.sampling import image_seed
from ganfactory.output.atomic import atomic_write_json
from ganfactory.output.batch_writer import BatchWriter
from ganfactory.output.images import to_uint8
from ganfactory.output.layout import RunFolder
from ganfactory.output.manifest import ManifestWriter, class_annotation, is_current, make_entry, stable_id
from ganfactory.output.shards import Shard, fingerprint, finish_shard, start_shard

log = logging.getLogger(__name__)

# Seeds one class may draw beyond its count when a filter drops images: DRAW_FACTOR x count + DRAW_EXTRA.
DRAW_FACTOR = 4
DRAW_EXTRA = 32


class ImageSampler(Protocol):
    """A generator behind torch or onnxruntime: seeds (+ class) in, [-1, 1] images out."""

    precision: Precision  # what it computes in; recorded with every image (bf16 and fp32 differ in the last bits)

    def __call__(self, *, seeds: list[int], class_index: int | None, truncation: float) -> torch.Tensor: ...


@dataclass
class TorchSampler:
    G: Generator
    device: torch.device
    precision: Precision = FP32  # bf16 generates ~2.3x faster on CPUs with native bf16

    def __call__(self, *, seeds: list[int], class_index: int | None, truncation: float) -> torch.Tensor:
        """[len(seeds), C, R, R] images in [-1, 1] (float32) of class `class_index` (None: unconditional)."""
        with self.precision.autocast():
            return synthesize(self.G, seeds=seeds, class_index=class_index, truncation=truncation,
                              device=self.device)


@dataclass(frozen=True)
class GenerationPlan:
    """`count` images per class, or `counts[class name]` where given (--balance, --per-class-target)."""

    class_names: list[str]
    conditional: bool
    count: int
    seed: int
    truncation: float
    batch_size: int = 16
    image_format: str = "png"
    counts: dict[str, int] = field(default_factory=dict)
    shard: Shard | None = None  # write only this shard's seeds (output/shards.py)

    def count_for(self, class_name: str) -> int:
        return self.counts.get(class_name, self.count)

    def owns(self, index: int) -> bool:
        return self.shard is None or self.shard.owns(index)


@dataclass
class _ClassJob:
    """One class's generation: where it writes and what it has done so far."""

    class_index: int | None
    class_name: str
    folder: str | None
    count: int  # images this run makes: the class's count, or this shard's share of it
    indices: int  # image indices the class spans (its count)
    written: int = 0
    accepted: int = 0
    stale: int = 0
    draws: int = 0
    unconfident: int = 0  # dropped by the class-confidence filter


@dataclass(frozen=True)
class Filters:
    """What may stop a generated image from being written: the memorisation gate and the class-confidence filter."""

    gate: MemorisationGate | None = None
    confidence: ClassConfidenceFilter | None = None

    @property
    def drops(self) -> bool:
        return (self.gate is not None and self.gate.max_similarity is not None) or self.confidence is not None

    def describe(self) -> str:
        names = []
        if self.gate and self.gate.max_similarity is not None:
            names.append(f"--max-similarity {self.gate.max_similarity:g}")
        if self.confidence:
            names.append(f"--min-class-confidence {self.confidence.min_confidence:g}")
        return " and ".join(names)


def _determinants(plan: GenerationPlan, provenance: dict[str, Any], seed: int, class_index: int | None,
                  filters: Filters) -> dict[str, Any]:
    """Everything that decides one generated image (the format is in its file name; bf16 and fp32 differ in the
    last bits, so the precision counts too; under the gate, the gate's network, training set and threshold; under
    the confidence filter, its classifier's training set and threshold)."""
    found = {"checkpoint_sha256": provenance.get("checkpoint_sha256"), "seed": seed, "truncation": plan.truncation,
             "class_index": class_index, "precision": provenance.get("precision")}
    if filters.gate is not None:
        found["memorisation_gate"] = filters.gate.identity
    if filters.confidence is not None:
        found["confidence_filter"] = filters.confidence.identity
    return found


def generate_dataset(sampler: ImageSampler, *, run: RunFolder, plan: GenerationPlan, provenance: dict[str, Any],
                     stop: StopRequest | None = None, gate: MemorisationGate | None = None,
                     confidence: ClassConfidenceFilter | None = None) -> int:
    """Generate `plan.count_for(class)` images per class; returns how many files were written now. An image OUT
    holds from another model, truncation, class or gate is made again: its file and manifest line are replaced.
    With `gate`, each image's nearest training image goes into its manifest line, and when the gate has a
    threshold a near-copy is not written (an older file of that seed is removed) and the next seed is drawn; with
    `confidence`, likewise an image whose intended class the real-data classifier gives less than its threshold.
    Raises RunInterrupted (exit 75) between batches once `stop` is set."""
    provenance = {**provenance, "precision": sampler.precision.name}
    classes: list[tuple[int | None, str | None]] = (
        list(enumerate(plan.class_names)) if plan.conditional else [(None, None)])
    jobs: list[_ClassJob] = []
    filters = Filters(gate=gate, confidence=confidence)
    manifest_path = run.manifest_path if plan.shard is None else start_shard(run.root, plan.shard)
    with ManifestWriter(manifest_path) as manifest:
        for class_index, folder in classes:
            name = folder or plan.class_names[0]
            total = plan.count_for(name)
            job = _ClassJob(class_index=class_index, class_name=name, folder=folder, indices=total,
                            count=total if plan.shard is None else plan.shard.share(total))
            run.class_dir(folder).mkdir(parents=True, exist_ok=True)
            _generate_class(sampler, job=job, run=run, plan=plan, manifest=manifest, provenance=provenance,
                            filters=filters, stop=stop, written_before=sum(j.written for j in jobs))
            jobs.append(job)
    written = sum(job.written for job in jobs)
    log.info("Wrote %d images to %s.", written, run.data_dir)
    if gate is not None and gate.max_similarity is not None:
        log.info("Memorisation gate: %d generated images checked, %d near-copies dropped (feature cosine >= %g).",
                 gate.checked, gate.dropped, gate.max_similarity)
    if confidence is not None:
        log.info("Class-confidence filter: %d generated images checked, %d dropped (class probability < %g).",
                 confidence.checked, confidence.dropped, confidence.min_confidence)
    if gate is not None or confidence is not None or plan.counts:
        _record_summary(run, plan, jobs, filters)
    if plan.shard is not None:
        shared = {**_determinants(plan, provenance, 0, None, filters), "base_seed": plan.seed,
                  "counts": {job.class_name: job.indices for job in jobs}, "format": plan.image_format}
        finish_shard(run.root, plan.shard, manifest_path=run.manifest_path, print_=fingerprint(shared))
    return written


def _generate_class(sampler: ImageSampler, *, job: _ClassJob, run: RunFolder, plan: GenerationPlan,
                    manifest: ManifestWriter, provenance: dict[str, Any], filters: Filters,
                    stop: StopRequest | None, written_before: int) -> None:
    """Walk the seeds of one class in order until `job.count` images are there: files already made as asked
    count, the rest are generated a batch at a time (never more than still needed, so nothing is overshot), and
    each batch's files are written on a worker thread while the next batch is generated."""
    limit = job.indices * DRAW_FACTOR + DRAW_EXTRA if filters.drops else job.indices
    dropped_before = filters.gate.dropped if filters.gate is not None else 0
    index = 0
    with BatchWriter(manifest, image_format=plan.image_format) as writer:
        while job.accepted < job.count and index < limit:
            seeds: list[int] = []
            while len(seeds) < plan.batch_size and job.accepted + len(seeds) < job.count and index < limit:
                seed = image_seed(plan.seed, index)
                index += 1
                if not plan.owns(index - 1):  # another shard's seed
                    continue
                if _is_done(run, manifest, job, plan, provenance, seed, filters):
                    job.accepted += 1
                else:
                    seeds.append(seed)
            if not seeds:
                continue
            if stop is not None:
                stop.raise_if_set(f"writing {written_before + job.written} images into {run.data_dir}")
            images = _synthesize_fixed(sampler, seeds, job.class_index, plan)
            files, entries = [], []
            for seed, image, (record, confident) in zip(seeds, images, _verdicts(images, job, filters)):
                if (record is not None and not record.kept) or (confident is not None and not confident.kept):
                    job.unconfident += record is None or record.kept  # dropped by the confidence filter alone
                    _discard(run, manifest, job, plan, seed)
                    continue
                path = _path(run, job, plan, seed)
                files.append((image, path))
                entries.append(_entry(run, path, seed=seed, job=job, plan=plan, provenance=provenance,
                                      filters=filters, record=record, confident=confident))
                job.accepted += 1
                job.written += 1
            writer.submit(files, entries)  # replaced lines follow their files batch by batch
    job.draws = index
    _report_class(job, run, filters, dropped=(filters.gate.dropped - dropped_before) if filters.gate else 0)


def _synthesize_fixed(sampler: ImageSampler, seeds: list[int], class_index: int | None,
                      plan: GenerationPlan) -> torch.Tensor:
    """uint8 [len(seeds), C, H, W]: the batch is padded to `plan.batch_size` (repeating the last seed), so every
    image goes through kernels of one batch shape and a seed gives the same bytes whatever its batch, count,
    shard or resume point (another shape may take another kernel whose float sums round differently)."""
    padded = seeds + [seeds[-1]] * (plan.batch_size - len(seeds))
    return to_uint8(sampler(seeds=padded, class_index=class_index, truncation=plan.truncation)[:len(seeds)])


def _verdicts(images: torch.Tensor, job: _ClassJob,
              filters: Filters) -> list[tuple[NearestRecord | None, ConfidenceRecord | None]]:
    """Per image: the memorisation gate's record and the confidence filter's (None where that one is off)."""
    count = len(images)
    nearest = list(filters.gate.check(images)) if filters.gate is not None else [None] * count
    confident = (list(filters.confidence.check(images, job.class_name)) if filters.confidence is not None
                 else [None] * count)
    return list(zip(nearest, confident))


def _report_class(job: _ClassJob, run: RunFolder, filters: Filters, *, dropped: int) -> None:
    if job.stale:
        log.warning("Replacing %d images in %s made with another model or other parameters.", job.stale,
                    run.class_dir(job.folder))
    if dropped:
        log.warning("Class %s: dropped %d near-copies of training images (feature cosine >= %g) and drew the next "
                    "seeds instead.", job.class_name, dropped, filters.gate.max_similarity if filters.gate else 0.0)
    if job.unconfident:
        log.warning("Class %s: dropped %d images the real-data classifier gives their class a probability below %g, "
                    "and drew the next seeds instead.", job.class_name, job.unconfident,
                    filters.confidence.min_confidence if filters.confidence else 0.0)
    if job.accepted < job.count:
        log.warning("Class %s: only %d of %d images passed %s after %d seeds (the cap); lower the bar, or train "
                    "longer for more varied, class-true images.", job.class_name, job.accepted, job.count,
                    filters.describe(), job.draws)


def _path(run: RunFolder, job: _ClassJob, plan: GenerationPlan, seed: int) -> Path:
    return run.class_dir(job.folder) / f"seed{seed:08d}.{plan.image_format}"


def _is_done(run: RunFolder, manifest: ManifestWriter, job: _ClassJob, plan: GenerationPlan,
             provenance: dict[str, Any], seed: int, filters: Filters) -> bool:
    """A resumed generation skips what is there and listed with the same model, seed, truncation, class and
    filters; a file there but made otherwise counts as stale (it is replaced, or removed if the gate drops it)."""
    path = _path(run, job, plan, seed)
    entry = manifest.get(stable_id("stylegan", path.relative_to(run.root)))
    if path.exists() and is_current(entry, _determinants(plan, provenance, seed, job.class_index, filters)):
        return True
    job.stale += entry is not None and path.exists()
    return False


def _discard(run: RunFolder, manifest: ManifestWriter, job: _ClassJob, plan: GenerationPlan, seed: int) -> None:
    """A dropped seed leaves nothing in Data/: an older file of it goes first, then its line (at the flush),
    so a stop in between leaves a line without a file, which the next run drops again, never a listed copy."""
    path = _path(run, job, plan, seed)
    path.unlink(missing_ok=True)
    manifest.remove(stable_id("stylegan", path.relative_to(run.root)))


def _entry(run: RunFolder, path: Path, *, seed: int, job: _ClassJob, plan: GenerationPlan,
           provenance: dict[str, Any], filters: Filters, record: NearestRecord | None,
           confident: ConfidenceRecord | None) -> dict[str, Any]:
    """The manifest line of the image `path` will hold."""
    extra: dict[str, Any] = {}
    if filters.gate is not None and record is not None:
        extra.update(memorisation_gate=filters.gate.identity, nearest=record.as_dict())
    if filters.confidence is not None and confident is not None:
        extra.update(confidence_filter=filters.confidence.identity, class_confidence=confident.as_dict())
    return make_entry(
        entry_id=stable_id("stylegan", path.relative_to(run.root)), source=path.resolve(),
        annotations=[class_annotation(job.class_name)], operator="stylegan", seed=seed,
        class_index=job.class_index, truncation=plan.truncation, **provenance, **extra)


def _record_summary(run: RunFolder, plan: GenerationPlan, jobs: list[_ClassJob], filters: Filters) -> None:
    """logs/generation.json, and a `generation` entry in progress.json when the run has one (jobs, console)."""
    summary: dict[str, Any] = {
        "written": sum(job.written for job in jobs),
        "per_class": {job.class_name: {"target": job.count, "present": job.accepted, "written": job.written,
                                       "seeds_drawn": job.draws, **({"unconfident": job.unconfident}
                                                                    if filters.confidence else {})} for job in jobs}}
    gate, confidence = filters.gate, filters.confidence
    if gate is not None:
        summary.update(max_similarity=gate.max_similarity, checked=gate.checked, dropped=gate.dropped,
                       network=gate.network.identity.as_dict())
    if confidence is not None:
        summary["class_confidence"] = {"min_class_confidence": confidence.min_confidence,
                                       "checked": confidence.checked, "dropped": confidence.dropped}
    atomic_write_json(run.generation_path, summary)
    update_progress(run.logs_dir, generation=summary)
