"""CycleGAN speed: training iterations/s and translation images/s, ganfactory against a naive step.

Modes
  naive  the reference's structure (benchmarks/cyclegan_reference.py): stock layers, fp32, NCHW,
         six separate generator forwards, D_A and D_B with separate backward passes, default Adam
  fp32   ganfactory's networks and objective, fp32, channels_last, fused Adam
  bf16   the same under torch.autocast(bf16) (CPU) -- the operator's fast path on AMX/avx512_bf16 CPUs
One training iteration = G_A, G_B forward, cycle and identity terms, generator backward + Adam step,
D_A and D_B on real and pooled fakes, backward + Adam step. All modes start from the same weights
(the script prints how far the generators' outputs differ) and count the same FLOPs.

Modes run round-robin, one iteration each per round, so drift in machine speed hits all of them
alike. Printed: rates from the median and the best wall time, and median process CPU seconds. On
a machine shared with other jobs, run with --threads 1 and compare CPU seconds: they measure the
work done, while wall time also counts waiting for a core (and, with 2+ threads, OpenMP spinning).

  python benchmarks/cyclegan_speed.py --size 256 --batch 1 --iters 4
  python benchmarks/cyclegan_speed.py --size 128 --iters 6 --threads 1
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cyclegan_reference import ReferenceCycleGAN  # noqa: E402

from ganfactory.operators.cyclegan.loss import discriminator_loss, generator_objective  # noqa: E402
from ganfactory.operators.cyclegan.networks import (  # noqa: E402
    PatchDiscriminator,
    ResnetGenerator,
    default_n_blocks,
    init_weights,
)
from ganfactory.operators.cyclegan.pool import ImagePool  # noqa: E402

CL = torch.channels_last


def _adam(params, lr: float) -> torch.optim.Adam:
    try:
        return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999), fused=True)
    except RuntimeError:  # fused Adam unavailable for this device / build
        return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999), foreach=True)


@dataclass
class OurCycleGAN:
    """What the operator holds; the step below is the shape of its train step."""

    g_a: torch.nn.Module
    g_b: torch.nn.Module
    d_a: torch.nn.Module
    d_b: torch.nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    pool_a: ImagePool
    pool_b: ImagePool
    bf16: bool

    def autocast(self) -> contextlib.AbstractContextManager:
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16)

    def step(self, real_a: torch.Tensor, real_b: torch.Tensor) -> None:
        with self.autocast():
            out = generator_objective(g_a=self.g_a, g_b=self.g_b, d_a=self.d_a, d_b=self.d_b, real_a=real_a, real_b=real_b)
        self.opt_g.zero_grad(set_to_none=True)
        out.total.backward()
        self.opt_g.step()
        with self.autocast():
            loss_d = discriminator_loss(self.d_a, real_b, self.pool_b.query(out.fake_b)) + discriminator_loss(
                self.d_b, real_a, self.pool_a.query(out.fake_a)
            )
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()


def build_ours(reference: ReferenceCycleGAN, *, channels: int, n_blocks: int, bf16: bool) -> OurCycleGAN:
    """ganfactory networks holding the reference's initial weights, in channels_last."""
    nets = []
    for ref in (reference.g_a, reference.g_b):
        net = ResnetGenerator(channels, channels, n_blocks=n_blocks)
        net.load_state_dict(ref.state_dict())
        nets.append(net.to(memory_format=CL))
    for ref in (reference.d_a, reference.d_b):
        net = PatchDiscriminator(channels)
        net.load_state_dict(ref.state_dict())
        nets.append(net.to(memory_format=CL))
    g_a, g_b, d_a, d_b = nets
    return OurCycleGAN(
        g_a=g_a, g_b=g_b, d_a=d_a, d_b=d_b,
        opt_g=_adam([*g_a.parameters(), *g_b.parameters()], 2e-4),
        opt_d=_adam([*d_a.parameters(), *d_b.parameters()], 2e-4),
        pool_a=ImagePool(50, generator=torch.Generator().manual_seed(1)),
        pool_b=ImagePool(50, generator=torch.Generator().manual_seed(2)),
        bf16=bf16,
    )


def count_flops(step: Callable[[], None]) -> int:
    """Floating-point operations of one call (convolutions and matmuls, forward and backward)."""
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def cpu_pressure() -> float | None:
    """Linux PSI 'some avg10': % of the last 10 s in which runnable tasks waited for a CPU."""
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return float(first.split()[1].split("=")[1])


@dataclass
class Timings:
    """Per-iteration wall-clock and process CPU seconds for one mode."""

    wall: list[float]
    cpu: list[float]


def time_round_robin(steps: dict[str, Callable[[], None]], *, iters: int, warmup: int) -> dict[str, Timings]:
    for _ in range(warmup):
        for step in steps.values():
            step()
    times = {name: Timings([], []) for name in steps}
    pressures = []
    for _ in range(iters):
        for name, step in steps.items():
            wall, cpu = time.perf_counter(), time.process_time()
            step()
            times[name].wall.append(time.perf_counter() - wall)
            times[name].cpu.append(time.process_time() - cpu)
        pressures.append(cpu_pressure())
    if pressures and pressures[0] is not None:
        # Other processes slow every mode alike only roughly; with --threads 1 the CPU seconds stay
        # a clean measure of work even then (no OpenMP spinning while a thread waits for a core).
        print(f"  (CPU pressure while timing, PSI some avg10: max {max(pressures):.0f}%)")
    return times


def translation_steps(reference: ReferenceCycleGAN, ours: dict[str, OurCycleGAN], x: torch.Tensor) -> dict[str, Callable[[], None]]:
    """Inference-only A->B translation for every mode."""
    x_cl = x.contiguous(memory_format=CL)

    def naive() -> None:
        with torch.no_grad():
            reference.g_a(x)

    def make(model: OurCycleGAN) -> Callable[[], None]:
        def run() -> None:
            with torch.inference_mode(), model.autocast():
                model.g_a(x_cl)
        return run

    return {"naive": naive, **{name: make(model) for name, model in ours.items()}}


def check_equivalence(reference: ReferenceCycleGAN, ours: dict[str, OurCycleGAN], x: torch.Tensor) -> None:
    with torch.no_grad():
        ref = reference.g_a(x)
        for name, model in ours.items():
            with model.autocast():
                out = model.g_a(x.contiguous(memory_format=CL)).float()
            print(f"  generator output vs reference ({name}): max |diff| = {(out - ref).abs().max().item():.2e}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256, help="image side in pixels (square)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--blocks", type=int, default=None, help="residual blocks (default: 9 from 256 px, else 6)")
    parser.add_argument("--iters", type=int, default=4, help="timed training iterations per mode")
    parser.add_argument("--warmup", type=int, default=0, help="extra untimed rounds after the FLOP-counting one")
    parser.add_argument("--modes", default="naive,fp32,bf16")
    parser.add_argument("--threads", type=int, default=None)
    return parser.parse_args()


def report(title: str, times: dict[str, Timings], unit: str, per: int, flops: dict[str, int] | None = None) -> None:
    """Rates from the median and the best wall time, and the median CPU seconds per iteration.

    On a shared machine the best wall time is the cleaner figure; with one thread, CPU seconds
    measure the work itself and their ratio is the fairest comparison.
    """
    print(title)
    for name, t in times.items():
        med, best, cpu = statistics.median(t.wall), min(t.wall), statistics.median(t.cpu)
        line = f"  {name:6s} {per / med:8.3f} {unit} median, {per / best:8.3f} best  (wall s: {med:.3f} / {best:.3f}; cpu s: {cpu:.3f})"
        if flops:
            line += f"  {flops[name] / 1e9:6.1f} GFLOP/iter, {flops[name] / best / 1e9:5.1f} GFLOP/s best"
        print(line)
    if "naive" in times:
        base = times["naive"]
        for name, t in times.items():
            if name != "naive":
                print(f"  speed-up {name} over naive: {statistics.median(base.wall) / statistics.median(t.wall):.2f}x median wall, "
                      f"{min(base.wall) / min(t.wall):.2f}x best wall, {statistics.median(base.cpu) / statistics.median(t.cpu):.2f}x cpu time")


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    n_blocks = args.blocks if args.blocks is not None else default_n_blocks(args.size, args.size)
    modes = args.modes.split(",")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, size {args.size}, batch {args.batch}, "
          f"{n_blocks} residual blocks, {args.iters} timed iterations after {1 + args.warmup} warm-up")
    reference = ReferenceCycleGAN(channels=args.channels, n_blocks=n_blocks)
    for net in (reference.g_a, reference.g_b, reference.d_a, reference.d_b):
        init_weights(net)
    ours = {m: build_ours(reference, channels=args.channels, n_blocks=n_blocks, bf16=(m == "bf16")) for m in modes if m != "naive"}
    real_a = torch.rand(args.batch, args.channels, args.size, args.size) * 2 - 1
    real_b = torch.rand(args.batch, args.channels, args.size, args.size) * 2 - 1
    check_equivalence(reference, ours, real_a)
    steps: dict[str, Callable[[], None]] = {}
    if "naive" in modes:
        steps["naive"] = lambda: reference.optimize_parameters(real_a, real_b)
    a_cl, b_cl = real_a.contiguous(memory_format=CL), real_b.contiguous(memory_format=CL)
    for name, model in ours.items():
        steps[name] = lambda model=model: model.step(a_cl, b_cl)
    flops = {name: count_flops(step) for name, step in steps.items()}  # doubles as the first warm-up
    report("training", time_round_robin(steps, iters=args.iters, warmup=args.warmup), "it/s", 1, flops)
    translate = {k: v for k, v in translation_steps(reference, ours, real_a).items() if k in steps}
    report("translation (A->B, no grad)", time_round_robin(translate, iters=max(3, args.iters), warmup=1), "img/s", args.batch)


if __name__ == "__main__":
    main()
