"""StyleGAN2-ADA quality suite (issue 22): is the class learnt early, and is each class varied and real-looking?

Datasets (benchmarks/stylegan_suite_data.py, all 32 px): digits, fashion, faces, and letters (kept aside: run it
only once the defaults are chosen). Per tick, for G_ema on a fixed z grid (32 seeds per class, constant noise):

  acc     accuracy of a classifier trained on the real training images, on the samples (per class and mean)
  xcls    cross-class distance ratio: mean RMS distance between the images of two classes drawn from the SAME
          latents, over the mean distance between images of one class from different latents. 0 = the class is
          ignored (every class draws the same image for a z); real data's between/within-class ratio is printed
          beside it (xcls_real) as the yardstick
  div     within-class diversity relative to the real training images of the class (per class, mean, min)
  kid     KID between the samples and the held-out real images, in the real-data classifier's 128-d pooled
          features (not Inception: that costs minutes per tick on a 2-core CPU), with a 95% bootstrap interval
  Dmarg   D's class margin: mean D(x, true class) - mean D(x, another class) on fixed real training images; near 0
          means D's projection head does not yet tell the classes apart, so G gets no class signal
and the training means since the last tick (D(real), D(fake), r_t, p, losses).
With --cas at the end: a classifier trained on generated only / real + generated / real only, on held-out real.

    PYTHONPATH=src python benchmarks/stylegan_quality.py --dataset fashion --kimg 4 --tick-kimg 1 --precision bf16
    PYTHONPATH=src python benchmarks/stylegan_quality.py --dataset digits --set mode_seeking_weight=0 --json out.json

--set NAME=VALUE replaces a field of the resolved preset (ablations); --option NAME=VALUE sets a StyleGANConfig field.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stylegan_suite_data import LOADERS  # noqa: E402

from ganfactory.data.dataset import ImageFolderData  # noqa: E402
from ganfactory.engine.precision import Precision
from ganfactory.metrics.classifier import (  # noqa: E402
    classification_accuracy_score,
    score_classifier,
    train_classifier,
)
from ganfactory.metrics.diversity import pairwise_diversity, relative_diversity, summarize  # noqa: E402
from ganfactory.metrics.kid import kid_estimate  # noqa: E402
from ganfactory.operators.stylegan.config import StyleGANConfig  # noqa: E402
from ganfactory.operators.stylegan.hparams import StyleGANTraining
from ganfactory.operators.stylegan.models import generate_grid, grid_columns, preset_for, synthesize  # noqa: E402
from ganfactory.operators.stylegan.training import StyleGANTrainable  # noqa: E402
from ganfactory.output.images import save_grid  # noqa: E402

SEEDS_PER_CLASS = 32


def _parse_value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def _pairs(items: list[str]) -> dict:
    return {k.replace("-", "_"): _parse_value(v) for k, v in (item.split("=", 1) for item in items)}


def classifier_features(classifier: torch.nn.Module, images: torch.Tensor) -> np.ndarray:
    """The real-data classifier's pooled features (before dropout and the last linear layer)."""
    x = images.float() / 127.5 - 1 if images.dtype == torch.uint8 else images.float()
    with torch.no_grad():
        return torch.cat([classifier[:-2](x[i:i + 256]) for i in range(0, len(x), 256)]).numpy()


def cross_class_ratio(fake: torch.Tensor, num_classes: int) -> float:
    """fake [classes * S, C, H, W], class-major, the same S latents in every class: mean RMS distance of
    (class k, z) to (class j, z) over k != j, divided by the mean within-class distance (different z)."""
    x = fake.float().flatten(1).reshape(num_classes, -1, fake[0].numel())
    cross = [(x[k] - x[j]).square().mean(1).sqrt().mean() for k in range(num_classes) for j in range(k + 1, num_classes)]
    within = np.mean([pairwise_diversity(fake[k * x.shape[1]:(k + 1) * x.shape[1]]) for k in range(num_classes)])
    return float(torch.stack(cross).mean()) / float(within)


def real_cross_ratio(images: torch.Tensor, labels: torch.Tensor, num_classes: int) -> float:
    """Real data's yardstick for xcls: mean distance between images of different classes over within-class."""
    x = images.float().flatten(1) / 127.5 - 1
    groups = [x[labels == k][:64] for k in range(num_classes)]
    cross = [torch.cdist(groups[k], groups[j]).mean() / math.sqrt(x.shape[1])
             for k in range(num_classes) for j in range(k + 1, num_classes)]
    within = np.mean([pairwise_diversity(images[labels == k][:64]) for k in range(num_classes)])
    return float(torch.stack(cross).mean()) / float(within)


class Probe:
    def __init__(self, t: StyleGANTrainable, split, classifier: torch.nn.Module) -> None:
        self.t, self.classifier = t, classifier
        self.train_x, self.train_y, self.test_x, self.test_y, self.names = split
        self.k = len(self.names)
        self.seeds = list(range(10_000, 10_000 + SEEDS_PER_CLASS))
        self.real_features = classifier_features(classifier, self.test_x)
        g = torch.Generator().manual_seed(5)
        pick = torch.randperm(len(self.train_x), generator=g)[:64]
        self.margin_x = self.train_x[pick].float() / 127.5 - 1
        self.margin_y = self.train_y[pick]
        self.margin_other = (self.margin_y + torch.randint(1, self.k, (64,), generator=g)) % self.k
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, stats: dict[str, float]) -> None:
        for key, value in stats.items():
            self.sums[key] += value
            self.counts[key] += 1

    def samples(self, G: torch.nn.Module, seeds: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        fake = torch.cat([synthesize(G, seeds=seeds, class_index=k, truncation=1.0, device=self.t.device)
                          for k in range(self.k)]).clamp(-1, 1).cpu()
        return fake, torch.arange(self.k).repeat_interleave(len(seeds))

    def d_margin(self) -> float:
        D = self.t.D
        with torch.no_grad():
            right = D(self.margin_x.to(self.t.device), self.margin_y.to(self.t.device))[:, -1]
            wrong = D(self.margin_x.to(self.t.device), self.margin_other.to(self.t.device))[:, -1]
        return float((right - wrong).mean())

    def tick(self) -> dict:
        record = {k: self.sums[k] / self.counts[k] for k in self.sums}
        self.sums.clear()
        self.counts.clear()
        fake, labels = self.samples(self.t.G_ema, self.seeds)
        per_class = relative_diversity(fake, labels, self.train_x, self.train_y, num_classes=self.k)
        record["div_mean"], record["div_min"] = summarize(per_class)
        record["div"] = [round(per_class[k], 2) for k in range(self.k)]
        score = score_classifier(self.classifier, fake, labels, self.names)
        record["acc_mean"], record["acc"] = score.accuracy, [round(score.per_class[n], 2) for n in self.names]
        record["xcls"] = cross_class_ratio(fake, self.k)
        kid = kid_estimate(self.real_features, classifier_features(self.classifier, fake), rounds=50, subsets=20)
        record["kid"], record["kid_lo"], record["kid_hi"] = kid.value, kid.low, kid.high
        record["Dmarg"] = self.d_margin()
        return record


KEYS = ["kimg", "sec_kimg", "acc_mean", "xcls", "div_mean", "div_min", "kid", "Dmarg", "D/real", "D/fake",
        "augment/rt", "augment/p", "loss/G_ms", "loss/D_lecam"]


def fmt(record: dict) -> str:
    parts = [f"{k.split('/')[-1]}={record[k]:.4g}" for k in KEYS if isinstance(record.get(k), float)]
    if "kid_lo" in record:
        parts.append(f"kid95=[{record['kid_lo']:.3g},{record['kid_hi']:.3g}]")
    return " ".join(parts) + f" acc={record['acc']} div={record['div']}"


def build_trainable(args, split) -> StyleGANTrainable:
    train_x, train_y, _, _, names = split
    options = dict(resolution=32, batch_size=args.batch, total_kimg=args.kimg, cfg="small", seed=args.seed,
                   precision=args.precision, device="cpu", **_pairs(args.option))
    config = StyleGANConfig(**options)
    preset = dataclasses.replace(preset_for(config, device_type="cpu"), **_pairs(args.set))
    torch.manual_seed(config.seed * 1000003)
    data = ImageFolderData(images=train_x, labels=train_y, class_names=names, conditional=True, files=[])
    return StyleGANTrainable(hparams=StyleGANTraining.from_config(config), preset=preset, data=data,
                             device=torch.device("cpu"), precision=_precision(args.precision))


def _precision(name: str) -> Precision:
    from ganfactory.engine.precision import resolve_precision

    return resolve_precision(name, torch.device("cpu"))


def cas_figures(probe: Probe, split, *, per_class: int) -> dict:
    train_x, train_y, test_x, test_y, names = split
    fake, fake_y = probe.samples(probe.t.G_ema, list(range(50_000, 50_000 + per_class)))
    real = train_x.float() / 127.5 - 1
    runs = {"generated": (fake, fake_y), "real+generated": (torch.cat([real, fake]), torch.cat([train_y, fake_y])),
            "real": (real, train_y)}
    out = {}
    for name, (x, y) in runs.items():
        out[name] = classification_accuracy_score(x, y, test_x, test_y, class_names=names, epochs=15).accuracy
    print("CAS " + " ".join(f"{k}={v:.3f}" for k, v in out.items()) +
          f" generated/real={out['generated'] / out['real']:.3f}", flush=True)
    return out


def table(paths: list[str]) -> str:
    """A markdown table, one row per tick of each JSON this script wrote (--table A.json B.json ...)."""
    lines = ["| run | kimg | acc | xcls | div mean/min | KID [95%] | Dmarg | D real/fake | p |", "|" + "---|" * 9]
    for path in paths:
        summary = json.loads(Path(path).read_text())
        for r in summary["ticks"]:
            lines.append(f"| {Path(path).stem} | {r['kimg']:g} | {r['acc_mean']:.2f} | {r['xcls']:.2f} | "
                         f"{r['div_mean']:.2f}/{r['div_min']:.2f} | {r['kid']:.2f} [{r['kid_lo']:.2f}, {r['kid_hi']:.2f}] | "
                         f"{r['Dmarg']:.2f} | {r.get('D/real', float('nan')):.2f}/{r.get('D/fake', float('nan')):.2f} | "
                         f"{r.get('augment/p', float('nan')):.3f} |")
        if summary.get("cas"):
            cas = summary["cas"]
            lines.append(f"| {Path(path).stem} | CAS | generated {cas['generated']:.3f}, real+generated "
                         f"{cas['real+generated']:.3f}, real {cas['real']:.3f} | | | | | | |")
    return "\n".join(lines)


def main() -> int:
    if sys.argv[1:2] == ["--table"]:
        print(table(sys.argv[2:]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(LOADERS), default="digits")
    parser.add_argument("--batch", type=int, default=8, choices=[8, 16])
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--kimg", type=float, default=4.0)
    parser.add_argument("--tick-kimg", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], help="preset field override NAME=VALUE")
    parser.add_argument("--option", action="append", default=[], help="StyleGANConfig field NAME=VALUE")
    parser.add_argument("--cas", action="store_true")
    parser.add_argument("--cas-per-class", type=int, default=100)
    parser.add_argument("--grid-dir", default="")
    parser.add_argument("--json", default="")
    parser.add_argument("--save-g", default="", help="write G_ema's state_dict here at the end (for inspection)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    split = LOADERS[args.dataset](seed=0)
    classifier = train_classifier(split[0], split[1], num_classes=len(split[4]), epochs=15, seed=0)
    real_acc = score_classifier(classifier, split[2], split[3], split[4]).accuracy
    t = build_trainable(args, split)
    probe = Probe(t, split, classifier)
    print(f"# {args.dataset}: {len(split[0])} train / {len(split[2])} held-out; real classifier on held-out "
          f"{real_acc:.3f}; xcls_real={real_cross_ratio(split[0], split[1], len(split[4])):.3f}; "
          f"precision={t.precision} batch={t.preset.batch_size} gamma={t.preset.gamma:g} "
          f"ms={t.preset.mode_seeking_weight:g} ada_kimg={t.ada.ada_kimg:g} set={args.set} option={args.option}",
          flush=True)
    ticks, next_tick, start = [], args.tick_kimg, time.monotonic()
    if args.grid_dir:
        Path(args.grid_dir).mkdir(parents=True, exist_ok=True)
    while t.done < args.kimg - 1e-9:
        probe.add(t.train_step())
        if t.done >= next_tick - 1e-9 or t.done >= args.kimg - 1e-9:
            next_tick += args.tick_kimg
            record = {"kimg": round(t.done, 3), "sec_kimg": (time.monotonic() - start) / t.done, **probe.tick()}
            ticks.append(record)
            print(fmt(record), flush=True)
            if args.grid_dir:
                save_grid(generate_grid(t.G_ema, num_classes=t.num_classes, seed=0, device=t.device),
                          Path(args.grid_dir) / f"{args.dataset}_{t.done:06.2f}kimg.png",
                          columns=grid_columns(t.num_classes))
    if args.save_g:
        torch.save(t.G_ema.state_dict(), args.save_g)
    summary = {"args": vars(args), "real_classifier_acc": real_acc, "ticks": ticks}
    if args.cas:
        summary["cas"] = cas_figures(probe, split, per_class=args.cas_per_class)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(summary, indent=1, default=lambda v: None if v != v else v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
