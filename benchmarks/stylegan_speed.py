"""Training cost of the StyleGAN2-ADA networks: sec/kimg, peak memory, GFLOP/image, fraction of the floor.

Runs the four phases of a StyleGAN2-ADA step with the real losses and Adam, as the operator does:
  Gmain  G(z) -> D -> non-saturating loss, backward into G only (D frozen), Adam step, G EMA update
  Greg   path length on batch / pl_batch_shrink, every pl_interval minibatches
  Dmain  G(z) without grad, D(fake), D(real), logistic loss, backward into D only, Adam step
  Dreg   R1 on real images, every r1_interval minibatches
Each phase is timed over several repetitions after warm-up; its median (and, less sensitive to other
load on the machine, its minimum) is weighted by how often the phase runs:
  sec/step = Gmain + Dmain + Greg / pl_interval + Dreg / r1_interval,  sec/kimg = sec/step * 1000 / batch.
No augmentation (ADA starts at p = 0) and no data loading.

FLOPs are counted with torch.utils.flop_counter on the same phases (forward, backward and double
backward of conv/matmul); the floor is that count divided by a peak rate: the nominal CPU rates
(fp32 227, bf16 460 GFLOP/s) and, for reference, the rate a large 3x3 conv reaches here.

Each precision runs in its own subprocess so that peak RSS is per configuration.

    .venv/bin/python benchmarks/stylegan_speed.py                      # paper256, 32 px, batch 8
    .venv/bin/python benchmarks/stylegan_speed.py --cfg small --batch 16 --resolution 32
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from ganfactory.operators.stylegan.loss import (
    d_logistic_loss,
    g_nonsaturating_loss,
    lazy_reg_adam_params,
    mix_styles,
    path_length_penalty,
    r1_penalty,
)
from ganfactory.operators.stylegan.presets import (
    build_discriminator,
    build_generator,
    resolve_preset,
)

NOMINAL_GFLOPS = {"fp32": 227.0, "bf16": 460.0}
NVIDIA_REFERENCE = "NVIDIA stylegan2-ada-pytorch CPU fallback, paper256 batch 8 fp32: ~940 s/kimg at 32 px, ~1610 at 64 px"


class Trainer:
    """Minimal StyleGAN2-ADA step, phase by phase (what the operator will do, minus data and ADA)."""

    def __init__(self, *, cfg: str, resolution: int, batch: int, precision: str, seed: int) -> None:
        torch.manual_seed(seed)
        self.preset = p = resolve_preset(cfg, resolution, batch, None)
        self.G = build_generator(p, num_classes=0, img_channels=3)
        self.D = build_discriminator(p, num_classes=0, img_channels=3)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.batch, self.precision = batch, precision
        g_lr, g_betas = lazy_reg_adam_params(p.lr, p.betas, p.pl_interval if p.pl_weight else None)
        d_lr, d_betas = lazy_reg_adam_params(p.lr, p.betas, p.r1_interval)
        # fused=True: one kernel per parameter instead of ~6 foreach passes over all of them.
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=g_lr, betas=g_betas, eps=p.eps, fused=True)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=d_lr, betas=d_betas, eps=p.eps, fused=True)
        self.real = torch.randn(batch, 3, resolution, resolution).clamp(-1, 1)
        self.real = self.real.contiguous(memory_format=torch.channels_last)
        self.pl_mean = torch.zeros([])

    def autocast(self) -> AbstractContextManager:
        if self.precision == "bf16":
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return nullcontext()

    def _z(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.G.z_dim)

    def _step(self, opt: torch.optim.Optimizer, module: torch.nn.Module) -> None:
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        # One read-only pass to look for non-finite values; nan_to_num (read + write) only if needed.
        if not torch.stack(torch._foreach_norm(grads)).isfinite().all():
            for g in grads:
                torch.nan_to_num_(g, nan=0.0, posinf=1e5, neginf=-1e5)
        opt.step()
        opt.zero_grad(set_to_none=True)

    def g_main(self) -> None:
        self.G.requires_grad_(True)
        self.D.requires_grad_(False)
        with self.autocast():
            ws = mix_styles(self.G, self._z(self.batch), None, prob=self.preset.style_mixing_prob,
                            update_emas=True)  # fmt: skip
            loss = g_nonsaturating_loss(self.D(self.G.synthesis(ws)))
        loss.backward()
        self._step(self.opt_G, self.G)
        self._update_ema()

    def g_reg(self) -> None:
        p = self.preset
        self.G.requires_grad_(True)
        self.D.requires_grad_(False)
        with self.autocast():
            ws = mix_styles(self.G, self._z(self.batch // p.pl_batch_shrink), None,
                            prob=p.style_mixing_prob)  # fmt: skip
            img = self.G.synthesis(ws)
        penalty, self.pl_mean = path_length_penalty(img, ws, self.pl_mean, p.pl_decay)
        (penalty * (p.pl_weight * p.pl_interval)).backward()
        self._step(self.opt_G, self.G)

    def d_main(self) -> None:
        self.G.requires_grad_(False)
        self.D.requires_grad_(True)
        with self.autocast():
            with torch.no_grad():
                fake = self.G(self._z(self.batch))
            loss = d_logistic_loss(self.D(self.real), self.D(fake))
        loss.backward()
        self._step(self.opt_D, self.D)

    def d_reg(self) -> None:
        self.G.requires_grad_(False)
        self.D.requires_grad_(True)
        real = self.real.detach().requires_grad_(True)
        with self.autocast():
            logits = self.D(real)
        penalty = r1_penalty(logits, real, self.preset.gamma)
        (penalty * self.preset.r1_interval).backward()
        self._step(self.opt_D, self.D)

    @torch.no_grad()
    def _update_ema(self) -> None:
        beta = 0.999
        params = list(self.G.parameters())
        ema = list(self.G_ema.parameters())
        torch._foreach_lerp_(ema, params, 1.0 - beta)

    def phases(self) -> dict[str, tuple[Callable[[], None], float]]:
        """name -> (run, runs per minibatch)."""
        p = self.preset
        out = {"Gmain": (self.g_main, 1.0), "Dmain": (self.d_main, 1.0)}
        if p.pl_weight > 0:
            out["Greg"] = (self.g_reg, 1.0 / p.pl_interval)
        if p.gamma > 0:
            out["Dreg"] = (self.d_reg, 1.0 / p.r1_interval)
        return out


class FlopCount(TorchDispatchMode):
    """Sums torch's own per-op FLOP formulas (conv, matmul, their backward) over every aten call.

    FlopCounterMode itself tracks modules with hooks that do not support autograd.grad on inputs
    (R1), so the registry is used directly.
    """

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def count_gflop(trainer: Trainer) -> dict[str, float]:
    out = {}
    for name, (run, _) in trainer.phases().items():
        with FlopCount() as counter:
            run()
        out[name] = counter.total / 1e9
    return out


def conv_peak_gflops(precision: str, repeats: int = 5) -> float:
    """Rate of a large 3x3 conv, forward + backward, channels_last: what the floor could be here."""
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    x = torch.randn(8, 512, 32, 32, dtype=dtype).contiguous(memory_format=torch.channels_last)
    w = torch.randn(512, 512, 3, 3, dtype=dtype, requires_grad=True)
    x.requires_grad_(True)
    flop = 3 * 2 * 8 * 32 * 32 * 9 * 512 * 512
    times = []
    for i in range(repeats + 2):
        t0 = time.perf_counter()
        torch.nn.functional.conv2d(x, w, padding=1).sum().backward()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return flop / statistics.median(times) / 1e9


def run_child(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    trainer = Trainer(cfg=args.cfg, resolution=args.resolution, batch=args.batch,
                      precision=args.precision, seed=0)  # fmt: skip
    phases = trainer.phases()
    for _ in range(args.warmup):
        for run, _ in phases.values():
            run()
    times: dict[str, list[float]] = {name: [] for name in phases}
    for _ in range(args.steps):
        for name, (run, _) in phases.items():
            t0 = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t0)
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    median = {name: statistics.median(t) for name, t in times.items()}
    best = {name: min(t) for name, t in times.items()}
    sec_per_step = sum(median[n] * freq for n, (_, freq) in phases.items())
    best_step = sum(best[n] * freq for n, (_, freq) in phases.items())
    gflop = count_gflop(trainer)
    gflop_step = sum(gflop[n] * freq for n, (_, freq) in phases.items())
    return {
        "precision": args.precision, "phase_sec": median, "sec_per_step": sec_per_step,
        "sec_per_kimg": sec_per_step * 1000 / args.batch,
        "best_sec_per_kimg": best_step * 1000 / args.batch, "gflop_per_image": gflop_step / args.batch,
        "gflop_phase": gflop, "peak_rss_mib": rss1, "model_rss_mib": rss1 - rss0,
        "conv_peak_gflops": conv_peak_gflops(args.precision),
        "params_G": sum(p.numel() for p in trainer.G.parameters()),
        "params_D": sum(p.numel() for p in trainer.D.parameters()),
    }  # fmt: skip


def report(args: argparse.Namespace, r: dict) -> None:
    sec_img = r["sec_per_kimg"] / 1000
    floor_nominal = r["gflop_per_image"] / NOMINAL_GFLOPS[r["precision"]]
    floor_here = r["gflop_per_image"] / r["conv_peak_gflops"]
    phases = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in r["phase_sec"].items())
    print(f"[{r['precision']}] {args.cfg} {args.resolution}px batch {args.batch}: "
          f"{r['sec_per_kimg']:.0f} sec/kimg (median; best-of-{args.steps} "
          f"{r['best_sec_per_kimg']:.0f})  ({phases})")
    print(f"    GFLOP/image {r['gflop_per_image']:.1f} (per phase and batch: "
          + ", ".join(f"{k} {v:.0f}" for k, v in r["gflop_phase"].items()) + ")")
    print(f"    achieved {r['gflop_per_image'] / sec_img:.0f} GFLOP/s; floor at nominal "
          f"{NOMINAL_GFLOPS[r['precision']]:.0f} GFLOP/s = {floor_nominal * 1000:.0f} sec/kimg -> "
          f"{floor_nominal / sec_img:.0%} of floor; large-conv rate here "
          f"{r['conv_peak_gflops']:.0f} GFLOP/s -> {floor_here / sec_img:.0%}")
    print(f"    peak RSS {r['peak_rss_mib']:.0f} MiB (model + training {r['model_rss_mib']:.0f} MiB); "
          f"params G {r['params_G'] / 1e6:.1f} M, D {r['params_D'] / 1e6:.1f} M")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", default="paper256")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--precision", default="fp32,bf16", help="comma list of fp32, bf16")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args)))
        return
    print(f"torch {torch.__version__}, {args.threads} threads; reference: {NVIDIA_REFERENCE}")
    # Other work on the machine inflates every figure: the load average is printed beside them.
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    for precision in args.precision.split(","):
        cmd = [sys.executable, __file__, "--child", "--precision", precision, "--cfg", args.cfg,
               "--resolution", str(args.resolution), "--batch", str(args.batch),
               "--warmup", str(args.warmup), "--steps", str(args.steps), "--threads", str(args.threads)]  # fmt: skip
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        report(args, json.loads(out.strip().splitlines()[-1]))
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
