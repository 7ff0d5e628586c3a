"""CycleGAN translation quality on a real unpaired pair of domains with true counterparts.

Domains (nothing downloaded: the glyphs come from the DejaVu fonts of Debian's fonts-dejavu-core):
  A  letters and digits in DejaVu Sans (thin strokes), each in a random saturated colour, on white;
  B  the same characters in DejaVu Serif Bold (thick strokes with serifs), random colours, on white.
The two training sets are drawn independently (other characters, other colours, other order), so they
are unpaired. The held-out set renders each (character, colour) in BOTH fonts, so every held-out A
image has its true B counterpart: the same character in the same colour in the other style.

Measured after every epoch on the held-out set, all as mean absolute pixel error on the [0, 1] scale:
  cycle     |G_BA(G_AB(a)) - a| and |G_AB(G_BA(b)) - b|
  identity  |G_AB(b) - b| and |G_BA(a) - a| (a generator fed an image of its own target domain)
  cp        |G_AB(a) - b*| (b* the counterpart of a) against |a - b*| (do nothing), and B->A alike
  colour    |mean ink colour of G_AB(a) - that of b*| (does a translation keep the source's colour?)
  D_B       D_B's mean score (LSGAN: real 1, fake 0) of held-out b, G_AB(a) and a: does D see the domains apart?
A working CycleGAN ends with cp below the untranslated figure and a small colour error.

  python benchmarks/cyclegan_quality.py make DATA                 # DATA/A, DATA/B, DATA/heldout/{A,B}
  python benchmarks/cyclegan_quality.py train DATA OUT --size 32 --epochs 8 [--lr 2e-4] [--ref]
  python benchmarks/cyclegan_quality.py table OUT                 # OUT/history.json as a markdown table
--ref trains the stand-in of the reference step (benchmarks/cyclegan_reference.py) on the same batches.
Options --skip-mode lerp|tanh, --paper-generator, --lambda-identity, --lambda-cycle, --batch, --threads (default 1)
choose what is compared; benchmarks/results/issue15/ holds the issue-15 histories.
"""

from __future__ import annotations

import argparse
import colorsys
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ganfactory.data.dataset import load_image_folder
from ganfactory.engine.precision import FP32
from ganfactory.operators.cyclegan.config import CycleGANConfig
from ganfactory.operators.cyclegan.hparams import CycleGANTraining
from ganfactory.operators.cyclegan.training import CycleGANTrainable
from ganfactory.output.images import save_grid

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {"A": "DejaVuSans.ttf", "B": "DejaVuSerif-Bold.ttf"}
CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghijkmnqrt0123456789"


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    """A saturated, mid-dark colour: clearly not white, so the glyph stands out from the background."""
    r, g, b = colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.7, 1.0), rng.uniform(0.55, 0.9))
    return round(r * 255), round(g * 255), round(b * 255)


def render(char: str, colour: tuple[int, int, int], domain: str, size: int) -> Image.Image:
    """One glyph centred (anchor 'mm') on a white square; both fonts at the same point size."""
    path = FONT_DIR / FONTS[domain]
    if not path.exists():
        raise SystemExit(f"{path} is missing; install Debian's fonts-dejavu-core (apt-get install fonts-dejavu-core).")
    font = ImageFont.truetype(str(path), size=round(size * 0.72))
    image = Image.new("RGB", (size, size), "white")
    ImageDraw.Draw(image).text((size / 2, size / 2), char, fill=colour, font=font, anchor="mm")
    return image


def make_domains(root: Path, *, size: int = 64, n_train: int = 300, n_heldout: int = 64, seed: int = 0) -> None:
    """DATA/A and DATA/B (unpaired training sets) and DATA/heldout/{A,B} (same file name = counterparts)."""
    rng = np.random.default_rng(seed)
    for domain in ("A", "B"):
        (root / domain).mkdir(parents=True, exist_ok=True)
        for index in range(n_train):
            char = CHARS[int(rng.integers(len(CHARS)))]
            render(char, _colour(rng), domain, size).save(root / domain / f"{domain.lower()}{index:04d}.png")
    for domain in ("A", "B"):
        (root / "heldout" / domain).mkdir(parents=True, exist_ok=True)
    for index in range(n_heldout):
        char, colour = CHARS[index % len(CHARS)], _colour(rng)
        for domain in ("A", "B"):
            render(char, colour, domain, size).save(root / "heldout" / domain / f"{index:04d}.png")


def _heldout(root: Path, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Held-out A and B as float [-1, 1] [N, 3, size, size], row i of one the counterpart of row i of the other."""
    out = []
    for domain in ("A", "B"):
        folder = root / "heldout" / domain
        data = load_image_folder(folder, resolution=size, mode="crop", files={folder.name: sorted(folder.glob("*.png"))})
        out.append(data.images.float() / 127.5 - 1)
    return out[0], out[1]


def _l1(x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean absolute error on the [0, 1] pixel scale of two [-1, 1] batches."""
    return float((x - y).abs().mean() / 2)


def _ink_colour(images: torch.Tensor) -> torch.Tensor:
    """[N, 3] mean colour ([0, 1]) of each image's darkest quarter of pixels (the glyph's ink)."""
    flat = (images.flatten(2) + 1) / 2  # [N, 3, P]
    lum = flat.mean(1)
    keep = lum <= lum.quantile(0.25, dim=1, keepdim=True)
    return (flat * keep[:, None]).sum(2) / keep.sum(1, keepdim=True)


@torch.no_grad()
def measure(g_ab: torch.nn.Module, g_ba: torch.nn.Module, a: torch.Tensor, b: torch.Tensor,
            d_b: torch.nn.Module | None = None) -> dict[str, float]:
    """The figures of the module docstring; with d_b also D_B's mean score (LSGAN: real 1, fake 0) of held-out
    B, of G_AB(A) and of untranslated A: whether the discriminator tells the domains apart at all."""
    fake_b, fake_a = g_ab(a), g_ba(b)
    scores = {} if d_b is None else {"D_B_real": float(d_b(b).mean()), "D_B_fake": float(d_b(fake_b).mean()),
                                     "D_B_untranslated": float(d_b(a).mean())}
    return {
        **scores,
        "cycle_A": _l1(g_ba(fake_b), a), "cycle_B": _l1(g_ab(fake_a), b),
        "idt_A": _l1(g_ab(b), b), "idt_B": _l1(g_ba(a), a),
        "cp_AB": _l1(fake_b, b), "cp_AB_untranslated": _l1(a, b),
        "cp_BA": _l1(fake_a, a), "cp_BA_untranslated": _l1(b, a),
        "colour_AB": float((_ink_colour(fake_b) - _ink_colour(b)).abs().mean()),
        "colour_AB_untranslated": float((_ink_colour(a) - _ink_colour(b)).abs().mean()),
        "colour_BA": float((_ink_colour(fake_a) - _ink_colour(a)).abs().mean()),
    }


def _reference_step(trainable: CycleGANTrainable, config: CycleGANConfig):
    """The stand-in reference step on the trainable's own networks, batches and schedule."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from cyclegan_reference import ReferenceCycleGAN

    ref = ReferenceCycleGAN.__new__(ReferenceCycleGAN)
    ref.g_a, ref.g_b, ref.d_a, ref.d_b = trainable.G_AB, trainable.G_BA, trainable.D_B, trainable.D_A
    ref.opt_g, ref.opt_d = trainable.opt_G, trainable.opt_D
    ref.pool_a, ref.pool_b = trainable.pools
    ref.lambda_a = ref.lambda_b = config.lambda_cycle
    ref.lambda_idt = config.lambda_identity

    def step() -> None:
        ref.optimize_parameters(trainable._batch(0).contiguous(), trainable._batch(1).contiguous())
        trainable._steps += 1
        if trainable._steps % trainable.steps_per_epoch == 0:
            for scheduler in trainable.schedulers:
                scheduler.step()
    return step


def train(root: Path, out: Path, *, size: int, epochs: int, lr: float, batch: int, base: int, n_blocks: int | None,
          decay_fraction: float, reference: bool, seed: int, device: str = "cpu",
          input_skip: bool = True, lambda_identity: float = 0.5,
          lambda_cycle: float = 10.0, skip_mode: str = "lerp") -> list[dict[str, float]]:
    config = CycleGANConfig(image_height=size, image_width=size, batch_size=batch, max_epoch=epochs,
                            g_learning_rate=lr, d_learning_rate=lr, base_channels=base, n_blocks=n_blocks,
                            decay_fraction=decay_fraction, device=device, precision="fp32", seed=seed,
                            input_skip=input_skip, lambda_identity=lambda_identity,
                            lambda_cycle=lambda_cycle, skip_mode=skip_mode)
    domains = [load_image_folder(root / d, resolution=config.load_hw(), mode="crop") for d in ("A", "B")]
    trainable = CycleGANTrainable(hparams=CycleGANTraining.from_config(config), source=domains[0], target=domains[1],
                                  device=torch.device(device), precision=FP32)
    step = _reference_step(trainable, config) if reference else trainable.train_step
    a, b = (x.to(device) for x in _heldout(root, size))
    out.mkdir(parents=True, exist_ok=True)
    history = [{"epoch": 0, **measure(trainable.G_AB, trainable.G_BA, a, b, trainable.D_B)}]
    print(json.dumps(history[-1]), flush=True)
    start = time.monotonic()
    for epoch in range(1, epochs + 1):
        for _ in range(trainable.steps_per_epoch):
            step()
        figures = measure(trainable.G_AB, trainable.G_BA, a, b, trainable.D_B)
        history.append({"epoch": epoch, "steps": trainable.steps, "seconds": round(time.monotonic() - start),
                        **{k: round(v, 4) for k, v in figures.items()}})
        print(json.dumps(history[-1]), flush=True)
        _write_grid(trainable, a, b, out / f"heldout_epoch{epoch:03d}.png")
    (out / "history.json").write_text(json.dumps(history, indent=1))
    print(table(history), flush=True)
    return history


def table(history: list[dict[str, float]]) -> str:
    """The per-epoch figures as a markdown table (errors on the [0, 1] scale; s/epoch is wall clock)."""
    lines = ["| epoch (steps) | cycle A / B | identity A / B | cp A->B / B->A | untranslated | colour A->B / B->A "
             "| s/epoch |", "| --- | --- | --- | --- | --- | --- | --- |"]
    previous = 0
    for row in history[1:]:
        lines.append(f"| {row['epoch']} ({row['steps']}) | {row['cycle_A']:.4f} / {row['cycle_B']:.4f} "
                     f"| {row['idt_A']:.4f} / {row['idt_B']:.4f} | {row['cp_AB']:.4f} / {row['cp_BA']:.4f} "
                     f"| {row['cp_AB_untranslated']:.4f} | {row['colour_AB']:.3f} / {row['colour_BA']:.3f} "
                     f"| {row['seconds'] - previous} |")
        previous = row["seconds"]
    return "\n".join(lines)


@torch.no_grad()
def _write_grid(trainable: CycleGANTrainable, a: torch.Tensor, b: torch.Tensor, path: Path, count: int = 8) -> None:
    """Rows: held-out A, G_AB(A), its true counterpart B, then B, G_BA(B), its counterpart A."""
    a, b = a[:count], b[:count]
    save_grid(torch.cat([a, trainable.G_AB(a), b, b, trainable.G_BA(b), a]).cpu(), path, columns=count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make")
    make.add_argument("data", type=Path)
    make.add_argument("--size", type=int, default=64)
    make.add_argument("--n-train", type=int, default=300)
    show = sub.add_parser("table", help="print a run's OUT/history.json as a markdown table")
    show.add_argument("out", type=Path)
    run = sub.add_parser("train")
    run.add_argument("data", type=Path)
    run.add_argument("out", type=Path)
    run.add_argument("--size", type=int, default=32)
    run.add_argument("--epochs", type=int, default=8)
    run.add_argument("--lr", type=float, default=2e-4)
    run.add_argument("--batch", type=int, default=4)
    run.add_argument("--base", type=int, default=64)
    run.add_argument("--n-blocks", type=int, default=None)
    run.add_argument("--decay-fraction", type=float, default=0.5)
    run.add_argument("--ref", action="store_true")
    run.add_argument("--paper-generator", action="store_true", help="no input skip (input_skip=False)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--lambda-identity", type=float, default=0.5)
    run.add_argument("--lambda-cycle", type=float, default=10.0)
    run.add_argument("--skip-mode", choices=["lerp", "tanh"], default="lerp")
    run.add_argument("--threads", type=int, default=1, help="torch threads (1: leave the other cores alone)")
    run.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.command == "make":
        make_domains(args.data, size=args.size, n_train=args.n_train)
        return
    if args.command == "table":
        print(table(json.loads((args.out / "history.json").read_text())))
        return
    torch.set_num_threads(args.threads)
    train(args.data, args.out, size=args.size, epochs=args.epochs, lr=args.lr, batch=args.batch, base=args.base,
          n_blocks=args.n_blocks, decay_fraction=args.decay_fraction, reference=args.ref, seed=args.seed, device=args.device,
          input_skip=not args.paper_generator, lambda_identity=args.lambda_identity,
          lambda_cycle=args.lambda_cycle, skip_mode=args.skip_mode)


if __name__ == "__main__":
    main()
