"""Unpaired translation quality on domain pairs with known true counterparts: CycleGAN, CUT and FastCUT side by side.

Pairs (nothing downloaded; both come from Debian packages):
  glyphs   A: letters and digits in DejaVu Sans, random saturated colours, on white; B: the same characters in
           DejaVu Serif Bold (fonts-dejavu-core). The pair of issue 15 (benchmarks/cyclegan_quality.py).
  fashion  Fashion-MNIST items (dataset-fashion-mnist, /usr/share/datasets/fashion-mnist): A the item drawn dark
           on white (inverted grey levels); B its edge map (Sobel magnitude of the item, dark lines on white).
Training sets are drawn independently (other items, order and colours: unpaired). Every held-out A image has its
true counterpart in heldout/B (same file name): the same character in the same colour in the other font, the
same item's edge map.

Per epoch, on the held-out set (errors on the [0, 1] scale):
  L1 / SSIM  of each translation G(a) to its true counterpart b*, against the untranslated a's (doing nothing);
  KID        (Inception pool features, unbiased MMD^2, 95% bootstrap interval) of the first --kid-images
             translations against --kid-images target-domain training images; the untranslated sources' KID is
             the yardstick (lower is closer to the target domain);
  s/step     median training seconds per optimiser step (evaluation excluded) and peak RSS of the training
             process during training (each method trains in its own process, one torch thread; the peak is
             reset after the images are decoded, so "training +" is what the networks and steps add).

  python benchmarks/translation_quality.py make DATA [--pairs glyphs,fashion] [--n-train 120]
  python benchmarks/translation_quality.py suite DATA OUT --size 32 --epochs 3 [--modes cyclegan,cut,fastcut]
  python benchmarks/translation_quality.py train DATA/PAIR OUT --mode cut --size 32 --epochs 3   (one method)
  python benchmarks/translation_quality.py speed DATA/PAIR --size 64 [--batch 1 --rounds 5 --burst 10]
    (s/step of the modes in alternating bursts in one process: the ratios to quote on a shared machine)
Every method uses its own defaults (lr 1e-4 for cyclegan, the reference's 2e-4 for cut/fastcut), batch 1, fp32,
base 32 channels and 3 residual blocks (as issue 15). OUT/table.md and OUT/results.json hold the figures;
OUT/<pair>_epochNNN.png grids: rows are held-out A, each mode's translation, the true counterpart.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cyclegan_quality import CHARS, _colour, _heldout, render  # noqa: E402  (the issue-15 glyph pair)

FASHION = Path("/usr/share/datasets/fashion-mnist")
RENDER_SIZE = 64  # images are stored at 64 px and resized on loading


# --- domains -----------------------------------------------------------------------------------------------
def _fashion_items(split: str) -> np.ndarray:
    """uint8 [N, 28, 28] Fashion-MNIST items (bright on black)."""
    path = FASHION / f"{split}-images-idx3-ubyte.gz"
    if not path.exists():
        raise SystemExit(f"{path} is missing; install Debian's dataset-fashion-mnist.")
    with gzip.open(path) as handle:
        data = handle.read()
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(-1, 28, 28)


def _fashion_styles(item: np.ndarray) -> dict[str, Image.Image]:
    """A: the item dark on white; B: its Sobel edge map, dark lines on white; both RGB at RENDER_SIZE."""
    x = torch.from_numpy(item.astype(np.float32) / 255)[None, None]
    x = F.interpolate(x, size=RENDER_SIZE, mode="bilinear", align_corners=False)
    sobel = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    gx = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), sobel[None, None])
    gy = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), sobel.T[None, None])
    edges = (gx.square() + gy.square()).sqrt().clamp(0, 1)
    out = {}
    for domain, ink in (("A", x), ("B", edges)):
        grey = ((1 - ink[0, 0]) * 255).round().to(torch.uint8).numpy()
        out[domain] = Image.fromarray(grey).convert("RGB")
    return out


def make_pair(root: Path, pair: str, *, n_train: int, n_heldout: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for folder in ("A", "B", "heldout/A", "heldout/B"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    if pair == "glyphs":
        for domain in ("A", "B"):
            for index in range(n_train):
                char = CHARS[int(rng.integers(len(CHARS)))]
                render(char, _colour(rng), domain, RENDER_SIZE).save(root / domain / f"{index:04d}.png")
        for index in range(n_heldout):
            char, colour = CHARS[index % len(CHARS)], _colour(rng)
            for domain in ("A", "B"):
                render(char, colour, domain, RENDER_SIZE).save(root / "heldout" / domain / f"{index:04d}.png")
        return
    train, test = _fashion_items("train"), _fashion_items("t10k")
    order = rng.permutation(len(train))[:2 * n_train]
    for domain, items in (("A", order[:n_train]), ("B", order[n_train:])):  # other items: unpaired
        for index, item in enumerate(items):
            _fashion_styles(train[item])[domain].save(root / domain / f"{index:04d}.png")
    for index, item in enumerate(rng.permutation(len(test))[:n_heldout]):
        for domain, image in _fashion_styles(test[item]).items():
            image.save(root / "heldout" / domain / f"{index:04d}.png")


# --- measures ----------------------------------------------------------------------------------------------
def _l1(x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean absolute error on the [0, 1] scale of two [-1, 1] batches."""
    return float((x - y).abs().mean() / 2)


def ssim(x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, valid positions) of two
    [-1, 1] batches [N, C, H, W], computed per channel on the [0, 1] scale and averaged."""
    x, y = (x.double() + 1) / 2, (y.double() + 1) / 2
    coords = torch.arange(11, dtype=torch.float64) - 5
    g = torch.exp(-coords.square() / (2 * 1.5**2))
    window = (g[:, None] * g[None, :] / g.sum() ** 2)[None, None].repeat(x.shape[1], 1, 1, 1)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window, groups=x.shape[1])

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx.square(), blur(y * y) - my.square(), blur(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    value = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx.square() + my.square() + c1) * (vx + vy + c2))
    return float(value.mean())


def _status_mb(field: str) -> float:
    """VmRSS (resident now) or VmHWM (peak resident since start or the last reset) of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so the peak covers training only, not image decoding."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# --- one method (its own process) --------------------------------------------------------------------------
def train(root: Path, out: Path, *, mode: str, size: int, epochs: int, batch: int, base: int, n_blocks: int,
          seed: int, input_skip: bool = True) -> None:
    from ganfactory.data.dataset import load_image_folder
    from ganfactory.operators.cyclegan.config import CycleGANConfig
    from ganfactory.operators.cyclegan.cut import CUTTrainable
    from ganfactory.operators.cyclegan.training import CycleGANTrainable

    config = CycleGANConfig(mode=mode, image_height=size, image_width=size, batch_size=batch, max_epoch=epochs,
                            base_channels=base, n_blocks=n_blocks, device="cpu", precision="fp32", seed=seed,
                            input_skip=input_skip)
    domains = [load_image_folder(root / d, resolution=config.load_hw(), mode="crop") for d in ("A", "B")]
    a, b = _heldout(root, size)
    rss_before = _status_mb("VmRSS")
    peak_was_reset = _reset_peak_rss()
    kind = CycleGANTrainable if mode == "cyclegan" else CUTTrainable
    trainable = kind(config=config, source=domains[0], target=domains[1], device=torch.device("cpu"),
                     precision="fp32")
    G = trainable.G_AB if mode == "cyclegan" else trainable.G
    out.mkdir(parents=True, exist_ok=True)
    history = [{"epoch": 0, "l1": _l1(a, b), "ssim": ssim(a, b)}]  # epoch 0 row: the untranslated source
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        for _ in range(trainable.steps_per_epoch):
            trainable.train_step()
        seconds = time.perf_counter() - start
        with torch.no_grad():
            translated = torch.cat([G(chunk) for chunk in a.split(16)])
        np.save(out / f"translations_epoch{epoch:03d}.npy",
                ((translated + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy())
        history.append({"epoch": epoch, "steps": trainable.steps, "s_per_step": seconds / trainable.steps_per_epoch,
                        "l1": _l1(translated, b), "ssim": ssim(translated, b)})
        print(json.dumps({"mode": mode, **history[-1]}), flush=True)
    peak = _status_mb("VmHWM") if peak_was_reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    (out / "history.json").write_text(json.dumps({"mode": mode, "size": size, "batch": batch, "base": base,
                                                  "n_blocks": n_blocks, "g_lr": config.g_learning_rate,
                                                  "input_skip": input_skip,
                                                  "peak_rss_mb": peak, "rss_before_training_mb": rss_before,
                                                  "history": history}, indent=1))


# --- speed, interleaved ------------------------------------------------------------------------------------
def speed(root: Path, *, modes: list[str], size: int, batch: int, base: int, n_blocks: int, rounds: int,
          burst: int) -> dict[str, float]:
    """Median seconds per step of each mode, measured in alternating bursts in one process, so that a shared
    machine's changing load falls on all modes alike (the suite's per-epoch times do not have that)."""
    from ganfactory.data.dataset import load_image_folder
    from ganfactory.operators.cyclegan.config import CycleGANConfig
    from ganfactory.operators.cyclegan.cut import CUTTrainable
    from ganfactory.operators.cyclegan.training import CycleGANTrainable

    trainables = {}
    for mode in modes:
        config = CycleGANConfig(mode=mode, image_height=size, image_width=size, batch_size=batch, max_epoch=100,
                                base_channels=base, n_blocks=n_blocks, device="cpu", precision="fp32")
        domains = [load_image_folder(root / d, resolution=config.load_hw(), mode="crop") for d in ("A", "B")]
        kind = CycleGANTrainable if mode == "cyclegan" else CUTTrainable
        trainables[mode] = kind(config=config, source=domains[0], target=domains[1], device=torch.device("cpu"),
                                precision="fp32")
        trainables[mode].train_step()  # warm-up
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    for _ in range(rounds):
        for mode, trainable in trainables.items():
            start = time.perf_counter()
            for _ in range(burst):
                trainable.train_step()
            times[mode].append((time.perf_counter() - start) / burst)
    medians = {mode: float(np.median(values)) for mode, values in times.items()}
    print(json.dumps({"size": size, "batch": batch, "base": base, "n_blocks": n_blocks, "rounds": rounds,
                      "burst": burst, "s_per_step": medians,
                      "ratio_to_cyclegan": {m: v / medians["cyclegan"] for m, v in medians.items()}
                      if "cyclegan" in medians else {}}), flush=True)
    return medians


# --- the suite ---------------------------------------------------------------------------------------------
def _uint8(x: torch.Tensor) -> torch.Tensor:
    return ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


def _kid(network, target_features: np.ndarray, images: torch.Tensor) -> dict[str, float]:
    from ganfactory.metrics.kid import kid_estimate

    return kid_estimate(target_features, network.extract(images), rounds=100).as_dict()


def suite(data: Path, out: Path, *, pairs: list[str], modes: list[str], size: int, epochs: int, kid_images: int,
          threads: int, extra: list[str], kid_every: int = 1) -> None:
    from ganfactory.data.dataset import load_image_folder
    from ganfactory.metrics.loaders import load_feature_network
    from ganfactory.output.images import save_grid

    torch.set_num_threads(threads)
    results: dict[str, dict] = {}
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    for pair in pairs:
        for mode in modes:  # one at a time, each in a fresh process: its own peak RSS
            command = [sys.executable, __file__, "train", str(data / pair), str(out / pair / mode), "--mode", mode,
                       "--size", str(size), "--epochs", str(epochs), *extra]
            subprocess.run(command, check=True, env=env)
    network = load_feature_network()
    for pair in pairs:
        a, b = _heldout(data / pair, size)
        target = load_image_folder(data / pair / "B", resolution=size, mode="crop").images[:kid_images]
        target_features = network.extract(target)
        record: dict = {"untranslated": {"l1": _l1(a, b), "ssim": ssim(a, b),
                                         "kid": _kid(network, target_features, _uint8(a[:kid_images]))}}
        for mode in modes:
            run = json.loads((out / pair / mode / "history.json").read_text())
            for row in run["history"][1:]:
                if row["epoch"] % kid_every and row["epoch"] != epochs:
                    continue  # KID (Inception on a CPU) only every kid_every epochs and at the end
                images = np.load(out / pair / mode / f"translations_epoch{row['epoch']:03d}.npy")
                row["kid"] = _kid(network, target_features, torch.from_numpy(images[:kid_images]))
                print(json.dumps({"pair": pair, "mode": mode, "epoch": row["epoch"], "kid": row["kid"]}), flush=True)
            record[mode] = run
        results[pair] = record
        for epoch in sorted({epochs, *range(kid_every, epochs + 1, kid_every)}):
            rows = [a[:8]] + [torch.from_numpy(np.load(out / pair / m / f"translations_epoch{epoch:03d}.npy")[:8])
                              .float() / 127.5 - 1 for m in modes] + [b[:8]]
            save_grid(torch.cat(rows), out / f"{pair}_epoch{epoch:03d}.png", columns=8)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    (out / "table.md").write_text(table(results, modes))
    print(table(results, modes))


def table(results: dict[str, dict], modes: list[str]) -> str:
    lines = []
    for pair, record in results.items():
        base = record["untranslated"]
        lines += [f"### {pair}: untranslated L1 {base['l1']:.4f}, SSIM {base['ssim']:.3f}, KID "
                  f"{_fmt_kid(base['kid'])}", "",
                  "| mode | epoch | L1 (vs untranslated) | SSIM | KID [95% interval] | s/step | peak RSS MB (training +) |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for mode in modes:
            run = record[mode]
            for row in run["history"][1:]:
                lines.append(f"| {mode} | {row['epoch']} | {row['l1']:.4f} ({row['l1'] / base['l1']:.2f}x) "
                             f"| {row['ssim']:.3f} | {_fmt_kid(row.get('kid'))} | {row['s_per_step']:.3f} "
                             f"| {run['peak_rss_mb']:.0f} (+{run['peak_rss_mb'] - run['rss_before_training_mb']:.0f}) |")
        if "cyclegan" in modes:
            ref = record["cyclegan"]
            for mode in (m for m in modes if m != "cyclegan"):
                run = record[mode]
                speed = np.median([r["s_per_step"] for r in run["history"][1:]]) / np.median(
                    [r["s_per_step"] for r in ref["history"][1:]])
                lines.append(f"\n{mode} / cyclegan: s/step {speed:.2f}x, peak RSS {run['peak_rss_mb'] / ref['peak_rss_mb']:.2f}x"
                             f" (training part {(run['peak_rss_mb'] - run['rss_before_training_mb']) / max(1e-9, ref['peak_rss_mb'] - ref['rss_before_training_mb']):.2f}x)")
        lines.append("")
    return "\n".join(lines)


def _fmt_kid(kid: dict[str, float] | None) -> str:
    if kid is None:
        return "-"
    return f"{kid['value'] * 1e3:.2f} [{kid['low'] * 1e3:.2f}, {kid['high'] * 1e3:.2f}] e-3"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make")
    make.add_argument("data", type=Path)
    make.add_argument("--pairs", default="glyphs,fashion")
    make.add_argument("--n-train", type=int, default=120)
    make.add_argument("--n-heldout", type=int, default=64)
    fast = sub.add_parser("speed", help="interleaved s/step of the modes (one process)")
    fast.add_argument("data", type=Path)
    fast.add_argument("--modes", default="cyclegan,cut,fastcut")
    fast.add_argument("--rounds", type=int, default=5)
    fast.add_argument("--burst", type=int, default=10)
    fast.add_argument("--threads", type=int, default=1)
    for name in ("speed",):
        for option, default in (("--size", 32), ("--batch", 1), ("--base", 32), ("--n-blocks", 3)):
            sub.choices[name].add_argument(option, type=int, default=default)
    for name in ("train", "suite"):
        p = sub.add_parser(name)
        p.add_argument("data", type=Path)
        p.add_argument("out", type=Path)
        p.add_argument("--size", type=int, default=32)
        p.add_argument("--epochs", type=int, default=3)
        p.add_argument("--threads", type=int, default=1)
    run, whole = sub.choices["train"], sub.choices["suite"]
    run.add_argument("--mode", choices=["cyclegan", "cut", "fastcut"], required=True)
    run.add_argument("--batch", type=int, default=1)
    run.add_argument("--base", type=int, default=32)
    run.add_argument("--n-blocks", type=int, default=3)
    run.add_argument("--seed", type=int, default=0)
    for parser_ in (run, whole):
        parser_.add_argument("--paper-generator", action="store_true", help="no input skip (input_skip False)")
    whole.add_argument("--pairs", default="glyphs,fashion")
    whole.add_argument("--modes", default="cyclegan,cut,fastcut")
    whole.add_argument("--kid-images", type=int, default=32)
    whole.add_argument("--kid-every", type=int, default=1, help="KID every N epochs (and at the last)")
    whole.add_argument("--batch", type=int, default=1)
    whole.add_argument("--base", type=int, default=32)
    whole.add_argument("--n-blocks", type=int, default=3)
    args = parser.parse_args()
    if args.command == "make":
        for pair in args.pairs.split(","):
            make_pair(args.data / pair, pair, n_train=args.n_train, n_heldout=args.n_heldout)
        return
    torch.set_num_threads(args.threads)
    if args.command == "speed":
        speed(args.data, modes=args.modes.split(","), size=args.size, batch=args.batch, base=args.base,
              n_blocks=args.n_blocks, rounds=args.rounds, burst=args.burst)
        return
    if args.command == "train":
        train(args.data, args.out, mode=args.mode, size=args.size, epochs=args.epochs, batch=args.batch,
              base=args.base, n_blocks=args.n_blocks, seed=args.seed, input_skip=not args.paper_generator)
        return
    extra = ["--batch", str(args.batch), "--base", str(args.base), "--n-blocks", str(args.n_blocks),
             "--threads", str(args.threads), *(["--paper-generator"] if args.paper_generator else [])]
    suite(args.data, args.out, pairs=args.pairs.split(","), modes=args.modes.split(","), size=args.size,
          epochs=args.epochs, kid_images=args.kid_images, threads=args.threads, extra=extra,
          kid_every=args.kid_every)


if __name__ == "__main__":
    main()
