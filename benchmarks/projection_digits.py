"""`ganfactory project` on held-out real digits: PSNR of W vs W+ and of each perceptual loss, seconds per image.

    python benchmarks/projection_digits.py [--run /work/exp/final_ms] [--test /work/exp/digits_test]
        [--per-class 2] [--steps 200] [--long-steps 1000] [--out benchmarks/results/issue10]

Takes the first --per-class images of every class folder of --test (digits the run never trained on),
projects them with the class of their folder, and prints per configuration the mean PSNR (dB), the mean final
loss and the wall-clock seconds per image. Configurations: discriminator / inception / none perceptual loss
in W at --steps (equal steps, the comparison behind the default), discriminator W+ at --steps, and the default
(discriminator) in W and W+ at --long-steps (the paper's 1000). Writes results.json and side_by_side.png
(rows: the real digits, then one row per configuration) to --out. Single-threaded CPU; on a shared machine
the seconds are pessimistic.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ganfactory.operators.stylegan.projection.optimise import ProjectionSettings  # noqa: E402
from ganfactory.operators.stylegan.projection.run import project_folder  # noqa: E402

SCALE = 3  # the 32 px digits are shown 3x larger


def held_out(test: Path, per_class: int, into: Path) -> Path:
    for folder in sorted(p for p in test.iterdir() if p.is_dir()):
        (into / folder.name).mkdir(parents=True)
        for path in sorted(folder.glob("*.png"))[:per_class]:
            shutil.copy(path, into / folder.name / path.name)
    return into


def configurations(steps: int, long_steps: int) -> list[tuple[str, str, str, int]]:
    return [("discriminator", "w", "discriminator", steps), ("inception", "w", "inception", steps),
            ("none", "w", "none", steps), ("discriminator w+", "w+", "discriminator", steps),
            (f"discriminator w {long_steps}", "w", "discriminator", long_steps),
            (f"discriminator w+ {long_steps}", "w+", "discriminator", long_steps)]


def row(folder: Path, ids: list[str], sub: str) -> list[Image.Image]:
    return [Image.open(folder / sub / f"{i}.png").convert("L") for i in ids]


def side_by_side(rows: list[tuple[str, list[Image.Image]]], path: Path) -> None:
    size, label_width = 32 * SCALE, 190
    sheet = Image.new("L", (label_width + len(rows[0][1]) * (size + 2), len(rows) * (size + 2)), 255)
    draw = ImageDraw.Draw(sheet)
    for r, (label, images) in enumerate(rows):
        draw.text((4, r * (size + 2) + size // 2 - 6), label, fill=0)
        for c, image in enumerate(images):
            sheet.paste(image.resize((size, size), Image.NEAREST), (label_width + c * (size + 2), r * (size + 2)))
    sheet.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("/work/exp/final_ms"))
    parser.add_argument("--test", type=Path, default=Path("/work/exp/digits_test"))
    parser.add_argument("--per-class", type=int, default=2)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--long-steps", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/issue10"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="projection_digits_"))
    images = held_out(args.test, args.per_class, work / "images")
    results, rows = [], []
    for name, space, perceptual, steps in configurations(args.steps, args.long_steps):
        settings = ProjectionSettings(space=space, steps=steps)  # type: ignore[arg-type]
        out = work / name.replace(" ", "_").replace("+", "plus")
        report = project_folder(args.run, images, out, settings=settings, perceptual=perceptual,  # type: ignore[arg-type]
                                class_name=None, seed=0, device=torch.device("cpu"))
        record = json.loads((out / "projection.json").read_text())
        ids = [image["id"] for image in record["images"]]
        loss = sum(image["final_loss"] for image in record["images"]) / len(ids)
        results.append({"name": name, "space": space, "perceptual": perceptual, "steps": steps,
                        "mean_psnr_db": round(report.mean_psnr_db, 2), "mean_final_loss": round(loss, 5),
                        "seconds_per_image": round(report.seconds_per_image, 2), "images": len(ids)})
        print(f"{name:28s} PSNR {report.mean_psnr_db:6.2f} dB  loss {loss:.4f}  {report.seconds_per_image:6.2f} s/image",
              flush=True)
        if not rows:
            rows.append(("real (held out)", row(out, ids, "targets")))
        rows.append((f"{name} ({report.mean_psnr_db:.1f} dB)", row(out, ids, "reconstructions")))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps({"run": str(args.run), "results": results}, indent=2) + "\n")
    side_by_side(rows, args.out / "side_by_side.png")
    print(f"Wrote {args.out / 'results.json'} and {args.out / 'side_by_side.png'}")


if __name__ == "__main__":
    main()
