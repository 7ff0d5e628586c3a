"""fp32 against bf16 training of the same StyleGAN2-ADA run, side by side.

Trains the demo's configuration (the `small` preset at 32 px on scikit-image's bundled lfw_subset,
two classes) twice from the same seed, once in fp32 and once under bf16 autocast, then prints the
per-tick losses of both runs next to each other with their speed, and leaves both sample grids in
OUT/fp32/samples and OUT/bf16/samples for a look.

    python benchmarks/precision_compare.py --total-kimg 4 --out runs/precision
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ganfactory.demo import write_lfw_subset
from ganfactory.engine.precision import cpu_supports_bf16
from ganfactory.operators.stylegan.config import StyleGANConfig
from ganfactory.operators.stylegan.operator import run_stylegan

COLUMNS = ("loss/G", "loss/D", "D/real", "D/fake")


def train(data: Path, out: Path, precision: str, total_kimg: float) -> list[dict]:
    config = StyleGANConfig(resolution=32, cfg="small", cmax=128, batch_size=16, total_kimg=total_kimg,
                            generate_num=16, tick_kimg=1.0, mirror=True, precision=precision, device="cpu")
    run_stylegan(data, out, config, progress_bar=False)
    return [json.loads(line) for line in (out / "logs" / "stats.jsonl").read_text().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--total-kimg", type=float, default=4.0)
    parser.add_argument("--out", type=Path, default=Path("runs/precision"))
    args = parser.parse_args()
    if not cpu_supports_bf16():
        raise SystemExit("This CPU has no native bf16; the comparison needs avx512_bf16 or AMX.")
    data = write_lfw_subset(args.out / "dataset")
    runs = {p: train(data, args.out / p, p, args.total_kimg) for p in ("fp32", "bf16")}
    header = "kimg  " + "  ".join(f"{c:>8} fp32 {c:>8} bf16" for c in COLUMNS) + "   s/kimg fp32  bf16"
    print(header)
    for a, b in zip(runs["fp32"], runs["bf16"]):
        cells = "  ".join(f"{a.get(c, float('nan')):13.3f} {b.get(c, float('nan')):13.3f}" for c in COLUMNS)
        print(f"{a['kimg']:4.1f}  {cells}   {a['sec_per_kimg']:10.1f} {b['sec_per_kimg']:5.1f}")
    print(f"sample grids: {args.out}/fp32/samples and {args.out}/bf16/samples")


if __name__ == "__main__":
    main()
