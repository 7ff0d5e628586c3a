"""`datasetgan generate OUT --num N`: N image + mask pairs, the most uncertain candidates dropped.

ceil(N / (1 - drop)) candidates are labelled (seeds `--seed` + 1e6 + i, never an annotated sample's); each
is written to Data/images, Data/masks (index PNG) and Data/previews (image | colours) and listed with its
uncertainty in Data/candidates.manifest. When every candidate is there, the N least uncertain are listed
in output_0.manifest and the others moved to Data/dropped/. A rerun skips what is written: no duplicates.
With `--shard K/N` only every N-th candidate is labelled, listed in OUT/shards/K-of-N.manifest; the shard that
completes the set merges the lists into candidates.manifest and selects (output/shards.py).
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

from ganfactory.operators.datasetgan.classes import SegmentationClass
from ganfactory.operators.datasetgan.ensemble import PixelEnsemble
from ganfactory.operators.datasetgan.generator import GENERATE_SEED_OFFSET, SourceGenerator, class_for, latents_for
from ganfactory.operators.datasetgan.predict import Labelled, label_latents
from ganfactory.output.atomic import atomic_write, atomic_write_text
from ganfactory.output.images import save_image, to_uint8
from ganfactory.output.layout import RunFolder
from ganfactory.output.manifest import SEGMENTATION, ManifestWriter, iter_manifest, make_entry, stable_id
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
    data = run.data_dir
    return {"image": data / "images" / f"{name}.png", "mask": data / "masks" / f"{name}.png",
            "preview": data / "previews" / f"{name}.png"}


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


def _pending(run: RunFolder, plan: PairPlan, candidates: ManifestWriter) -> list[int]:
    todo = []
    for index in range(plan.candidates):
        if plan.shard is not None and not plan.shard.owns(index):
            continue
        name = pair_id(plan.seed + GENERATE_SEED_OFFSET + index)
        written = all(p.exists() or _dropped_path(p).exists()
                      for p in _paths(run, name).values())
        if not (written and stable_id("datasetgan", name) in candidates):
            todo.append(index)
    return todo


def label_candidates(source: SourceGenerator, ensemble: PixelEnsemble, *, run: RunFolder, plan: PairPlan,
                     classes: list[SegmentationClass], provenance: dict[str, Any]) -> int:
    """Label and write every candidate not written yet; returns how many were written now."""
    written = 0
    listing = run.data_dir / "candidates.manifest" if plan.shard is None else start_shard(run.root, plan.shard)
    with ManifestWriter(listing) as candidates:
        todo = _pending(run, plan, candidates)
        for start in range(0, len(todo), plan.batch):
            indices = todo[start:start + plan.batch]
            seeds = [plan.seed + GENERATE_SEED_OFFSET + i for i in indices]
            labels = [class_for(source, i, plan.class_name) for i in indices]
            ws = latents_for(source, seeds=seeds, classes=labels, truncation=plan.truncation)
            out: Labelled = label_latents(source.G, ensemble, ws, pixel_chunk=plan.pixel_chunk)
            for k, (seed, label) in enumerate(zip(seeds, labels)):
                name = pair_id(seed)
                paths = _write_pair(run, name, to_uint8(out.images[k : k + 1])[0], out.masks[k], classes)
                candidates.append(_entry(run, name, paths, seed=seed, class_index=label, score=out.scores[k],
                                         classes=classes, plan=plan, provenance=provenance))
                written += 1
            log.info("Labelled %d of %d candidates.", start + len(indices), len(todo))
    return written


def _dropped_path(path: Path) -> Path:
    return path.parent.parent / "dropped" / path.parent.name / path.name


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


def keep_least_uncertain(run: RunFolder, plan: PairPlan) -> int:
    """List the `keep` least uncertain candidates (per class, see select_least_uncertain) in the manifest and move
    the rest to Data/dropped/ (and back, when a new --drop-uncertain keeps them); returns how many pairs the
    manifest lists."""
    wanted = {stable_id("datasetgan", pair_id(plan.seed + GENERATE_SEED_OFFSET + i)) for i in range(plan.candidates)}
    entries = [e for e in iter_manifest(run.data_dir / "candidates.manifest") if e["id"] in wanted]
    kept = select_least_uncertain(entries, plan.keep)
    kept_ids = {e["id"] for e in kept}
    for entry in entries:
        for path in _paths(run, pair_id(entry["seed"])).values():
            source, target = (_dropped_path(path), path) if entry["id"] in kept_ids else (path, _dropped_path(path))
            if source.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                source.replace(target)
    # rewritten whole (atomically): a rerun with another --num or --drop-uncertain must not leave stale lines
    lines = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in sorted(kept, key=lambda e: e["seed"]))
    atomic_write_text(run.manifest_path, lines)
    log.info("Kept %d pairs, dropped the %d most uncertain (Data/dropped/).", len(kept), len(entries) - len(kept))
    return len(kept)


def generate_pairs(source: SourceGenerator, ensemble: PixelEnsemble, *, run: RunFolder, plan: PairPlan,
                   classes: list[SegmentationClass], provenance: dict[str, Any]) -> int:
    """Label the candidates, then keep the least uncertain; returns the pairs written in this call."""
    written = label_candidates(source, ensemble, run=run, plan=plan, classes=classes, provenance=provenance)
    if plan.shard is not None and not _merge_shards(run, plan, provenance):
        return written
    keep_least_uncertain(run, plan)
    return written


def _merge_shards(run: RunFolder, plan: PairPlan, provenance: dict[str, Any]) -> bool:
    """Mark this shard complete; when the set is, add every shard's candidates to candidates.manifest (atomically,
    in seed order) so the selection sees them all. False while other shards are still labelling."""
    assert plan.shard is not None
    agreed = {**provenance, "keep": plan.keep, "drop": plan.drop_uncertain, "seed": plan.seed,
              "truncation": plan.truncation, "class": plan.class_name}
    if not complete_shard(run.root, plan.shard, print_=fingerprint(agreed)):
        return False
    listing = run.data_dir / "candidates.manifest"
    entries = {e["id"]: e for e in iter_manifest(listing)} if listing.exists() else {}
    entries.update(shard_entries(run.root, plan.shard))
    ordered = sorted(entries.values(), key=lambda e: e["seed"])
    atomic_write_text(listing, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in ordered))
    return True
