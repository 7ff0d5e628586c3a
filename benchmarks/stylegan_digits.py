"""StyleGAN2-ADA on real handwritten digits: does G stay varied and of its class? (issue 14)

Data: scikit-learn's bundled `load_digits` (1,797 real 8x8 digits, 10 classes), Lanczos-upscaled to 28 px
and padded to 32 (MNIST-like framing). 100 images per class train; the other 797 are the held-out test set.

Per tick it prints and records, for G_ema over a fixed z grid (constant noise):
  div      diversity of the samples of each class relative to the real images of that class
           (ganfactory.metrics.diversity: mean pairwise RMS pixel distance, fake / real), mean and min
  acc      per-class accuracy of a classifier trained on the real training digits, on generated images
and the training means since the last tick: D(real), D(fake), r_t, p, R1, path length, and the gradient
norms of G's mapping layers, class embedding and synthesis (after each G main step).
At the end (--cas): Classification Accuracy Score, i.e. a classifier trained on generated / real + generated /
real images, each tested on the real held-out digits.

    PYTHONPATH=src python benchmarks/stylegan_digits.py --kimg 2 --tick-kimg 0.25 --cfg small
    PYTHONPATH=src python benchmarks/stylegan_digits.py --write-folder /tmp/digits   # only the class folders
    PYTHONPATH=src python benchmarks/stylegan_digits.py --kimg 12 --cas --json out.json --grid-dir grids/
    PYTHONPATH=src python benchmarks/stylegan_digits.py --from-run runs/digits --cas   # a CLI run on --write-folder

Timings are wall clock on whatever machine runs it (pessimistic on a shared CPU).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganfactory.data.dataset import ImageFolderData
from ganfactory.engine.precision import resolve_precision
from ganfactory.metrics.classifier import classification_accuracy_score, score_classifier, train_classifier
from ganfactory.metrics.diversity import relative_diversity, summarize
from ganfactory.operators.stylegan.config import StyleGANConfig
from ganfactory.operators.stylegan.hparams import StyleGANTraining
from ganfactory.operators.stylegan.models import generate_grid, grid_columns, preset_for, synthesize
from ganfactory.operators.stylegan.sampling import z_batch
from ganfactory.operators.stylegan.training import StyleGANTrainable
from ganfactory.output.images import save_grid

PER_CLASS = 100
CLASS_NAMES = [str(k) for k in range(10)]


def load_digit_split(*, per_class: int = PER_CLASS, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """(train uint8 [10*per_class, 1, 32, 32], train labels, test images, test labels) from load_digits."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.stack([_upscale(img) for img in digits.images])
    labels = digits.target.astype(np.int64)
    order = np.random.RandomState(seed).permutation(len(labels))
    train = np.concatenate([order[labels[order] == k][:per_class] for k in range(10)])
    test = np.setdiff1d(order, train)
    as_t = torch.from_numpy
    return as_t(images[train]), as_t(labels[train]), as_t(images[test]), as_t(labels[test])


def _upscale(digit: np.ndarray) -> np.ndarray:
    """8x8 values 0..16 -> uint8 [1, 32, 32]: Lanczos to 28 px, 2 px black border (as MNIST frames digits)."""
    small = Image.fromarray((digit * (255 / 16)).astype(np.uint8), mode="L").resize((28, 28), Image.LANCZOS)
    out = np.zeros((32, 32), dtype=np.uint8)
    out[2:30, 2:30] = np.asarray(small)
    return out[None]


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    x = torch.nn.functional.interpolate(images.float(), size=(size, size), mode="area")
    return x.round().clamp(0, 255).to(torch.uint8)


def write_folder(root: Path, images: torch.Tensor, labels: torch.Tensor) -> None:
    """Class folders root/0 ... root/9 of PNGs, the layout `ganfactory stylegan` takes."""
    for index, (image, label) in enumerate(zip(images, labels.tolist())):
        folder = root / CLASS_NAMES[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image[0].numpy(), mode="L").save(folder / f"{index:05d}.png")


# ------------------------------------------------------------------------------------ instruments


class Probe:
    """Fixed z grid per class, the real-data classifier, and per-step training statistics."""

    def __init__(self, trainable: StyleGANTrainable, real: torch.Tensor, labels: torch.Tensor,
                 classifier: torch.nn.Module, *, per_class: int = 32) -> None:
        self.t, self.real, self.labels, self.classifier = trainable, real, labels, classifier
        self.seeds = list(range(10_000, 10_000 + per_class))
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self._wrap_g_main()

    def _wrap_g_main(self) -> None:
        t, original = self.t, self.t._g_main

        def g_main_with_norms() -> dict[str, float]:
            out = original()
            mapping = t.G.mapping
            groups = {"grad/mapping": mapping.layers.parameters(), "grad/synthesis": t.G.synthesis.parameters(),
                      "grad/embed": mapping.embed.parameters() if mapping.embed is not None else []}
            for name, params in groups.items():
                grads = [p.grad.float().norm() ** 2 for p in params if p.grad is not None]
                out[name] = float(torch.stack(grads).sum().sqrt()) if grads else 0.0
            return out

        t._g_main = g_main_with_norms

    def add(self, stats: dict[str, float]) -> None:
        for key, value in stats.items():
            self.sums[key] += value
            self.counts[key] += 1

    def samples(self, noise_mode: str = "const") -> tuple[torch.Tensor, torch.Tensor]:
        """G_ema's samples of the fixed seeds per class; noise "const" as generation uses it, or "random"."""
        if noise_mode == "const":
            parts = [synthesize(self.t.G_ema, seeds=self.seeds, class_index=k, truncation=1.0, device=self.t.device)
                     for k in range(10)]
        else:
            with torch.no_grad():
                z = z_batch(self.seeds, self.t.G_ema.z_dim, self.t.device)
                parts = [self.t.G_ema(z, torch.full((len(self.seeds),), k, device=self.t.device),
                                      noise_mode=noise_mode).float() for k in range(10)]
        fake = torch.cat(parts).clamp(-1, 1).cpu()
        return fake, torch.arange(10).repeat_interleave(len(self.seeds))

    def tick(self) -> dict[str, float]:
        record = {k: self.sums[k] / self.counts[k] for k in self.sums}
        self.sums.clear()
        self.counts.clear()
        fake, fake_labels = self.samples()
        per_class = relative_diversity(fake, fake_labels, self.real, self.labels, num_classes=10)
        record["div_mean"], record["div_min"] = summarize(per_class)
        record["div"] = [round(per_class[k], 3) for k in range(10)]
        random_noise = self.samples(noise_mode="random")[0]
        per_class_random = relative_diversity(random_noise, fake_labels, self.real, self.labels, num_classes=10)
        record["div_random_noise"] = summarize(per_class_random)[0]
        record["noise_strength"] = [round(float(layer.noise_strength), 3) for layer in self.t.G_ema.modules()
                                    if hasattr(layer, "noise_strength")]
        ws = self.t.G_ema.mapping(torch.randn(256, self.t.G_ema.z_dim, generator=torch.Generator().manual_seed(1)),
                                  torch.arange(10).repeat(26)[:256])[:, 0]
        record["w_std_over_mean"] = float(ws.std(dim=0).mean() / ws.mean(dim=0).abs().mean().clamp_min(1e-8))
        score = score_classifier(self.classifier, fake, fake_labels, CLASS_NAMES)
        record["acc_mean"] = score.accuracy
        record["acc"] = [round(score.per_class[n], 2) for n in CLASS_NAMES]
        return record


def _fmt(record: dict) -> str:
    keys = ["kimg", "sec_kimg", "div_mean", "div_min", "coverage_mean", "coverage_real_mean", "recall_mean",
            "recall_real_mean", "div_random_noise", "w_std_over_mean", "acc_mean", "conditioning/transition", "D/real", "D/fake",
            "augment/rt", "augment/p",
            "loss/D_r1", "loss/G_pl", "grad/mapping", "grad/embed", "grad/synthesis"]
    parts = [f"{k.split('/')[-1] if k.startswith('grad') else k}={record[k]:.4g}" for k in keys
             if isinstance(record.get(k), float)]
    return " ".join(parts) + f" div={record['div']} acc={record['acc']} noise={record['noise_strength']}"


# ------------------------------------------------------------------------------------------- run


def train_run(args: argparse.Namespace, data: tuple[torch.Tensor, ...], classifier: torch.nn.Module) -> dict:
    train_x, train_y, _, _ = data
    config = StyleGANConfig(resolution=args.resolution, batch_size=args.batch, cbase=args.cbase, cmax=args.cmax, total_kimg=args.kimg, cfg=args.cfg,
                            aug=args.aug, target=0.6, seed=args.seed, precision=args.precision, device=args.device,
                            **({"ada_kimg": args.ada_kimg} if args.ada_kimg else {}),
                            **{k: getattr(args, k) for k in ("conditioning", "t_start_kimg", "t_end_kimg")
                               if getattr(args, k) is not None},
                            **({"gamma": args.gamma} if args.gamma is not None else {}),
                            **({"lr": args.lr} if args.lr is not None else {}),
                            class_grouped_mbstd=args.class_grouped_mbstd)
    preset = preset_for(config)
    if args.mbstd_group:
        import dataclasses

        preset = dataclasses.replace(preset, mbstd_group_size=args.mbstd_group)
    torch.manual_seed(config.seed * 1000003)
    folder = ImageFolderData(images=train_x, labels=train_y, class_names=CLASS_NAMES, conditional=True, files=[])
    device = torch.device(args.device)
    t = StyleGANTrainable(hparams=StyleGANTraining.from_config(config), preset=preset, data=folder, device=device,
                          precision=resolve_precision(args.precision, device))
    probe = Probe(t, train_x, train_y, classifier)
    print(f"# cfg={args.cfg} batch={preset.batch_size} gamma={preset.gamma:g} mbstd={preset.mbstd_group_size} "
          f"ema_kimg={preset.ema_kimg:g} lr={preset.lr:g} ada_kimg={t.ada.ada_kimg:g} map={preset.mapping_layers} "
          f"cbase={preset.channel_base} smix={preset.style_mixing_prob} pl={preset.pl_weight} "
          f"conditioning={preset.conditioning} t={preset.t_start_kimg:g}..{preset.t_end_kimg:g} kimg "
          f"class_grouped_mbstd={config.class_grouped_mbstd}", flush=True)
    ticks, next_tick, start = [], args.tick_kimg, time.monotonic()
    while t.done < args.kimg:
        probe.add(t.train_step())
        if t.done >= next_tick or t.done >= args.kimg:
            next_tick += args.tick_kimg
            record = {"kimg": round(t.done, 3), "sec_kimg": (time.monotonic() - start) / t.done, **probe.tick()}
            ticks.append(record)
            print(_fmt(record), flush=True)
            if args.grid_dir:
                save_grid(generate_grid(t.G_ema, num_classes=10, seed=0, device=t.device),
                          Path(args.grid_dir) / f"grid_{t.done:07.3f}kimg.png", columns=grid_columns(10))
    return {"ticks": ticks, "trainable": t, "probe": probe}


def cas_figures(probe: Probe, data: tuple[torch.Tensor, ...], *, per_class: int, epochs: int) -> dict[str, float]:
    """Classification Accuracy Score: train on generated / real + generated / real, test on real held-out."""
    train_x, train_y, test_x, test_y = data
    seeds = list(range(50_000, 50_000 + per_class))
    fake = torch.cat([synthesize(probe.t.G_ema, seeds=seeds, class_index=k, truncation=1.0, device=probe.t.device)
                      for k in range(10)]).clamp(-1, 1).cpu()
    fake_y = torch.arange(10).repeat_interleave(per_class)
    real_f = train_x.float() / 127.5 - 1
    runs = {"generated": (fake, fake_y), "real+generated": (torch.cat([real_f, fake]), torch.cat([train_y, fake_y])),
            "real": (real_f, train_y)}
    out = {}
    for name, (x, y) in runs.items():
        score = classification_accuracy_score(x, y, test_x, test_y, class_names=CLASS_NAMES, epochs=epochs)
        out[name] = score.accuracy
        out[f"{name}/per_class"] = [round(score.per_class[n], 3) for n in CLASS_NAMES]
        print(f"CAS {name:15s} acc={score.accuracy:.3f} per_class={out[f'{name}/per_class']}", flush=True)
    return out


def _real_classifier(data: tuple[torch.Tensor, ...], *, resolution: int) -> torch.nn.Module:
    """The real-data classifier (15 epochs, seed 0), cached in the temp folder: it is the same for every run."""
    import tempfile

    cache = Path(tempfile.gettempdir()) / f"ganfactory_digits_classifier_{resolution}px.pt"
    if cache.exists():
        return torch.load(cache, weights_only=False)
    classifier = train_classifier(data[0], data[1], num_classes=10, epochs=15, seed=0)
    torch.save(classifier, cache)
    return classifier


def coverage_figures(G: torch.nn.Module, data: tuple[torch.Tensor, ...], *, per_class: int = 100) -> dict:
    """Per class, the coverage and recall (Naeem et al. 2020; Kynkaenniemi et al. 2019) of G's samples against the
    class's training digits, in pixel space at 16 px, next to the same figures for the held-out real digits of the
    class: how much of the real variety the samples reach, with real data's own score as the yardstick. A
    generator that makes one image per class covers a few training digits; real held-out digits cover most."""
    from ganfactory.metrics.prdc import per_sample_prdc

    train_x, train_y, test_x, test_y = data
    seeds = list(range(20_000, 20_000 + per_class))

    def pixels(x: torch.Tensor) -> np.ndarray:
        x = x.float() / 127.5 - 1 if x.dtype == torch.uint8 else x.float()
        return torch.nn.functional.avg_pool2d(x, 2).flatten(1).numpy()

    out: dict[str, list[float]] = {"coverage": [], "recall": [], "coverage_real": [], "recall_real": []}
    for k in range(10):
        real = pixels(train_x[train_y == k])
        fake = pixels(synthesize(G, seeds=seeds, class_index=k, truncation=1.0, device=torch.device("cpu")).clamp(-1, 1))
        held_out = pixels(test_x[test_y == k])
        for suffix, samples in (("", fake), ("_real", held_out)):
            values = per_sample_prdc(real, samples)
            out["coverage" + suffix].append(round(float(values.coverage.mean()), 3))
            out["recall" + suffix].append(round(float(values.recall.mean()), 3))
    means = {f"{name}_mean": float(np.mean(values)) for name, values in out.items()}
    print("coverage per class (generated / held-out real):",
          [f"{a:.2f}/{b:.2f}" for a, b in zip(out["coverage"], out["coverage_real"])], flush=True)
    print("recall per class   (generated / held-out real):",
          [f"{a:.2f}/{b:.2f}" for a, b in zip(out["recall"], out["recall_real"])], flush=True)
    return {**out, **means}


def evaluate_run(run: Path, data: tuple[torch.Tensor, ...], classifier: torch.nn.Module, args) -> dict:
    """The probe's figures and the CAS for a finished `ganfactory stylegan` run on these digits (its class folders
    written by --write-folder): G_ema of the run's checkpoint (best.pt when the run kept one, else the latest)."""
    from types import SimpleNamespace

    from ganfactory.engine.checkpoint import checkpoint_architecture, load_checkpoint, resolve_checkpoint_path
    from ganfactory.operators.stylegan.models import generator_from_state

    path = resolve_checkpoint_path(run, prefer="best")
    state = load_checkpoint(path)
    G = generator_from_state(state["operator"], device=torch.device("cpu"), architecture=checkpoint_architecture(state))
    if list(state["operator"]["class_names"]) != CLASS_NAMES:
        raise SystemExit(f"{run} was not trained on the digit folders 0..9 (classes {state['operator']['class_names']})")
    probe = Probe(SimpleNamespace(G_ema=G, device=torch.device("cpu"), _g_main=lambda: {}), data[0], data[1],
                  classifier)
    record = {"checkpoint": str(path), "kimg": state["operator"]["images_seen"] / 1000, **probe.tick(),
              **coverage_figures(G, data)}
    print(_fmt(record), flush=True)
    if args.grid_dir:
        save_grid(generate_grid(G, num_classes=10, seed=0, device=torch.device("cpu")),
                  Path(args.grid_dir) / "grid_final.png", columns=grid_columns(10))
    return {"ticks": [record], "probe": probe}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", default="small")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--resolution", type=int, default=32, help="32, or 16 (2x2 average of the 32 px digits)")
    parser.add_argument("--cbase", type=int, default=None)
    parser.add_argument("--cmax", type=int, default=None)
    parser.add_argument("--kimg", type=float, default=2.0)
    parser.add_argument("--tick-kimg", type=float, default=0.25)
    parser.add_argument("--aug", default="ada", choices=["ada", "noaug", "fixed"])
    parser.add_argument("--ada-kimg", type=float, default=None)
    parser.add_argument("--gamma", type=float, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--mbstd-group", type=int, default=0, help="minibatch-std group size (default: the preset's)")
    parser.add_argument("--class-grouped-mbstd", action="store_true", help="one class per minibatch-std group")
    parser.add_argument("--conditioning", choices=["transitional", "concat"], default=None, help="default: the preset's")
    parser.add_argument("--t-start-kimg", type=float, default=None)
    parser.add_argument("--t-end-kimg", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--precision", default="fp32", help="fp32, bf16 or fp16 (fp16: CUDA only)")
    parser.add_argument("--cas", action="store_true", help="Classification Accuracy Score at the end")
    parser.add_argument("--cas-per-class", type=int, default=100)
    parser.add_argument("--grid-dir", default="")
    parser.add_argument("--json", default="")
    parser.add_argument("--write-folder", default="", help="only write the training digits as class folders")
    parser.add_argument("--from-run", default="", help="measure a finished `ganfactory stylegan` run on those folders "
                        "instead of training here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_digit_split()
    if args.resolution != 32:
        data = tuple(_resize(x, args.resolution) if x.ndim == 4 else x for x in data)
    if args.write_folder:
        write_folder(Path(args.write_folder), data[0], data[1])
        print(f"wrote {len(data[0])} digits to {args.write_folder}")
        return 0
    if args.grid_dir:
        Path(args.grid_dir).mkdir(parents=True, exist_ok=True)
    classifier = _real_classifier(data, resolution=args.resolution)
    real_acc = score_classifier(classifier, data[2], data[3], CLASS_NAMES).accuracy
    print(f"# real-data classifier: accuracy on the {len(data[2])} held-out real digits {real_acc:.3f}", flush=True)
    result = evaluate_run(Path(args.from_run), data, classifier, args) if args.from_run else train_run(args, data, classifier)
    summary = {"args": vars(args), "real_classifier_acc": real_acc, "ticks": result["ticks"]}
    if args.cas:
        summary["cas"] = cas_figures(result["probe"], data, per_class=args.cas_per_class, epochs=15)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1, default=lambda v: None if math.isnan(v) else v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
