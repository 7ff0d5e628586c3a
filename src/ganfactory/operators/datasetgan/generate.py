"""`datasetgan generate OUT --num N`: N image + mask pairs, the most uncertain candidates dropped.

ceil(N / (1 - drop)) candidates are labelled (seeds `--seed` + 1e6 + i, never an annotated sample's); each
is written to Data/images, Data/masks (index PNG) and Data/previews (image | colours) and listed with its
uncertainty in the candidates list (output.layout.PairFolder). When every candidate is there, the N least
uncertain are listed in the run's manifest and the others moved to Data/dropped/. A rerun skips what is written
as asked (StyleGAN's rule: the same interpreter, generator, seed, truncation and class) and makes the rest again:
no duplicates, no stale pairs.
With `--shard K/N` only every N-th candidate is labelled, listed in OUT/shards/K-of-N.manifest; the shard that
completes the set merges the lists into the candidates list and selects (output/shards.py).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ganfactory.engine.signals import StopRequest
from ganfactory.operators.datasetgan.classes import SegmentationClass
from ganfactory.operators.datasetgan.ensemble import PixelEnsemble
from ganfactory.operators.datasetgan.generator import GENERATE_SEED_OFFSET, SourceGenerator, class_for, latents_for
from ganfactory.operators.datasetgan.predict import Labelled, label_latents
from ganfactory.output.atomic import atomic_write, atomic_write_text
from ganfactory.output.images import save_image, to_uint8
from ganfactory.output.layout import RunFolder
from ganfactory.output.manifest import SEGMENTATION, ManifestWriter, is_current, iter_manifest, make_entry, stable_id
from ganfactory.output.shards import Shard, complete_shard, fingerprint, shard_entries, start_shard

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PairPlan:
    keep: int
    drop_uncertain: float
    seed: int
    truncation: float
    batch: int
    pixel_chunk: int
    class_name: str | None = None
    shard: Shard | None = None  # label only this shard's candidates (output/shards.py)

    @property
    def candidates(self) -> int:
        return math.ceil(self.keep / (1.0 - self.drop_uncertain)) if self.keep else 0


def pair_id(seed: int) -> str:
    return f"gen{seed:08d}"


def _paths(run: RunFolder, name: str) -> dict[str, Path]:
    return run.pairs.pair_paths(name)


def colour_mask(mask: np.ndarray, classes: list[SegmentationClass]) -> np.ndarray:
    palette = np.zeros((256, 3), dtype=np.uint8)
    for c in classes:
        palette[c.index] = c.color
    return palette[mask]


def _write_pair(run: RunFolder, name: str, image: torch.Tensor, mask: torch.Tensor,
                classes: list[SegmentationClass]) -> dict[str, Path]:
    paths = _paths(run, name)
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        run.pairs.dropped(path).unlink(missing_ok=True)  # an older pair of this seed, dropped before: never restored
    save_image(image, paths["image"])
    mask_np = mask.numpy()
    atomic_write(paths["mask"], lambda tmp: Image.fromarray(mask_np, mode="L").save(tmp, format="PNG"))
    rgb = image.expand(3, -1, -1).permute(1, 2, 0).numpy()
    preview = np.concatenate([rgb, colour_mask(mask_np, classes)], axis=1)
    atomic_write(paths["preview"], lambda tmp: Image.fromarray(preview).save(tmp, format="PNG"))
    return paths


def _entry(run: RunFolder, name: str, paths: dict[str, Path], *, seed: int, class_index: int | None,
           score: float, classes: list[SegmentationClass], plan: PairPlan, provenance: dict[str, Any]) -> dict:
    annotation = {"name": "segmentation", "type": SEGMENTATION, "annotation-loc": str(paths["mask"].resolve()),
                  "annotation-format": "PNG", "class_names": [c.name for c in classes]}
    return make_entry(entry_id=stable_id("datasetgan", name), source=paths["image"].resolve(),
                      annotations=[annotation], operator="datasetgan", seed=seed, class_index=class_index,
                      truncation=plan.truncation, uncertainty=round(score, 6),
                      preview=str(paths["preview"].resolve()), **provenance)


def _determinants(source: SourceGenerator, plan: PairPlan, provenance: dict[str, Any], index: int) -> dict[str, Any]:
    """Everything that decides candidate `index` (StyleGAN's rule, operators/stylegan/generate.py): the
    interpreter and the generator (their hashes), the seed, the truncation and the class."""
    return {"checkpoint_sha256": provenance.get("checkpoint_sha256"),
            "generator_checkpoint_sha256": provenance.get("generator_checkpoint_sha256"),
            "seed": plan.seed + GENERATE_SEED_OFFSET + index, "truncation": plan.truncation,
            "class_index": class_for(source, index, plan.class_name)}


def _pending(source: SourceGenerator, run: RunFolder, plan: PairPlan, candidates: ManifestWriter,
             provenance: dict[str, Any]) -> tuple[list[int], int]:
    """The candidate indices to label now, and how many of them replace a pair made otherwise (stale)."""
    todo, stale = [], 0
    for index in range(plan.candidates):
        if plan.shard is not None and not plan.shard.owns(index):
            continue
        name = pair_id(plan.seed + GENERATE_SEED_OFFSET + index)
        written = all(p.exists() or run.pairs.dropped(p).exists() for p in _paths(run, name).values())
        entry = candidates.get(stable_id("datasetgan", name))
        if written and is_current(entry, _determinants(source, plan, provenance, index)):
            continue
        todo.append(index)
        stale += entry is not None
    return todo, stale


def label_candidates(source: SourceGenerator, ensemble: PixelEnsemble, *, run: RunFolder, plan: PairPlan,
                     classes: list[SegmentationClass], provenance: dict[str, Any],
                     stop: StopRequest | None = None) -> list[str]:
    """Label and write every candidate not written yet as asked (one made with another interpreter, generator,
    truncation or class is made again, its files and line replaced); returns the ids written now.
    Raises RunInterrupted (exit 75) between batches once `stop` is set (SIGTERM, Ctrl-C, the job worker)."""
    written: list[str] = []
    listing = run.pairs.candidates_path if plan.shard is None else start_shard(run.root, plan.shard)
    with ManifestWriter(listing) as candidates:
        todo, stale = _pending(source, run, plan, candidates, provenance)
        if stale:
            log.warning("Making %d candidates again: they were made with another interpreter, generator, truncation "
                        "or class.", stale)
        for start in range(0, len(todo), plan.batch):
            if stop is not None:
                stop.raise_if_set(f"labelling {start} of {len(todo)} candidates into {run.data_dir}")
            indices = todo[start:start + plan.batch]
            seeds = [plan.seed + GENERATE_SEED_OFFSET + i for i in indices]
            labels = [class_for(source, i, plan.class_name) for i in indices]
            ws = latents_for(source, seeds=seeds, classes=labels, truncation=plan.truncation)
            out: Labelled = label_latents(source.G, ensemble, ws, pixel_chunk=plan.pixel_chunk)
            for k, (seed, label) in enumerate(zip(seeds, labels)):
                name = pair_id(seed)
                paths = _write_pair(run, name, to_uint8(out.images[k : k + 1])[0], out.masks[k], classes)
                entry = _entry(run, name, paths, seed=seed, class_index=label, score=out.scores[k],
                               classes=classes, plan=plan, provenance=provenance)
                candidates.put(entry)
                written.append(entry["id"])
            candidates.flush()  # replaced lines follow their files batch by batch
            log.info("Labelled %d of %d candidates.", start + len(indices), len(todo))
    return written


def _quotas(sizes: dict[Any, int], keep: int) -> dict[Any, int]:
    """`keep` shared out in proportion to the group sizes (largest remainder; ties by group order)."""
    total = sum(sizes.values())
    exact = {group: keep * size / total for group, size in sizes.items()}
    quotas = {group: math.floor(value) for group, value in exact.items()}
    order = sorted(sizes, key=lambda g: (-(exact[g] - quotas[g]), str(g)))
    for group in order[:keep - sum(quotas.values())]:
        quotas[group] += 1
    return quotas


def select_least_uncertain(entries: list[dict], keep: int) -> list[dict]:
    """The `keep` least uncertain candidate entries, taken within each generated class (`class_index`) in
    proportion to its share of the candidates: a class whose masks are harder to label is not crowded out, so
    a conditional generator's class balance survives the drop. Ties break by seed, so the choice never changes."""
    groups: dict[Any, list[dict]] = {}
    for entry in entries:
        groups.setdefault(entry.get("class_index"), []).append(entry)
    quotas = _quotas({g: len(members) for g, members in groups.items()}, min(keep, len(entries)))
    kept = []
    for group, members in groups.items():
        kept += sorted(members, key=lambda e: (e["uncertainty"], e["seed"]))[:quotas[group]]
    return kept


def keep_least_uncertain(source: SourceGenerator, run: RunFolder, plan: PairPlan, provenance: dict[str, Any]) -> int:
    """List the `keep` least uncertain candidates (per class, see select_least_uncertain) in the manifest and move
    the rest to Data/dropped/ (and back, when a new --drop-uncertain keeps them); returns how many pairs the
    manifest lists. Only candidates made as asked count (one line per id, the last)."""
    wanted = {stable_id("datasetgan", pair_id(plan.seed + GENERATE_SEED_OFFSET + i)):
              _determinants(source, plan, provenance, i) for i in range(plan.candidates)}
    latest = {e["id"]: e for e in iter_manifest(run.pairs.candidates_path) if e["id"] in wanted}
    entries = [e for key, e in latest.items() if is_current(e, wanted[key])]
    kept = select_least_uncertain(entries, plan.keep)
    kept_ids = {e["id"] for e in kept}
    for entry in entries:
        for path in _paths(run, pair_id(entry["seed"])).values():
            dropped = run.pairs.dropped(path)
            origin, target = (dropped, path) if entry["id"] in kept_ids else (path, dropped)
            if origin.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                origin.replace(target)
    # rewritten whole (atomically): a rerun with another --num or --drop-uncertain must not leave stale lines
    lines = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in sorted(kept, key=lambda e: e["seed"]))
    atomic_write_text(run.manifest_path, lines)
    log.info("Kept %d pairs, dropped the %d most uncertain (Data/dropped/).", len(kept), len(entries) - len(kept))
    return len(kept)


def generate_pairs(source: SourceGenerator, ensemble: PixelEnsemble, *, run: RunFolder, plan: PairPlan,
                   classes: list[SegmentationClass], provenance: dict[str, Any],
                   stop: StopRequest | None = None) -> int:
    """Label the candidates, then keep the least uncertain; returns how many pairs the manifest lists that were
    written in this call (the candidates labelled are logged)."""
    written = label_candidates(source, ensemble, run=run, plan=plan, classes=classes, provenance=provenance,
                               stop=stop)
    if plan.shard is not None and not _merge_shards(run, plan, provenance):
        return len(written)  # the shard that completes the set selects (and lists) the pairs
    keep_least_uncertain(source, run, plan, provenance)
    listed = {e["id"] for e in iter_manifest(run.manifest_path)} if run.manifest_path.is_file() else set()
    return len(listed.intersection(written))


def _merge_shards(run: RunFolder, plan: PairPlan, provenance: dict[str, Any]) -> bool:
    """Mark this shard complete; when the set is, add every shard's candidates to the candidates list (atomically,
    in seed order) so the selection sees them all. False while other shards are still labelling."""
    assert plan.shard is not None
    agreed = {**provenance, "keep": plan.keep, "drop": plan.drop_uncertain, "seed": plan.seed,
              "truncation": plan.truncation, "class": plan.class_name}
    if not complete_shard(run.root, plan.shard, print_=fingerprint(agreed)):
        return False
    listing = run.pairs.candidates_path
    entries = {e["id"]: e for e in iter_manifest(listing)} if listing.exists() else {}
    entries.update(shard_entries(run.root, plan.shard))
    ordered = sorted(entries.values(), key=lambda e: e["seed"])
    atomic_write_text(listing, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in ordered))
    return True
