"""Builds a real captioned dataset from the fonts Debian packages carry (fonts-dejavu-core, fonts-liberation):
every Latin letter, digit and Greek capital rendered in several fonts, captioned with its Unicode name and
category (unicodedata) and the font's style. Layout: OUT/<category>/<char>_<font>.png + .txt beside it, and a
boxes.txt of each glyph's tight box for `stackgan-prepare --bounding-boxes`.

    python benchmarks/stackgan_glyphs.py OUT [--size 80]
"""

from __future__ import annotations

import argparse
import string
import unicodedata
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype")
FONTS = {  # file -> (short name, style words for the captions)
    "dejavu/DejaVuSans.ttf": ("dejavusans", "sans-serif"),
    "dejavu/DejaVuSerif.ttf": ("dejavuserif", "serif"),
    "dejavu/DejaVuSansMono.ttf": ("dejavumono", "monospaced"),
    "dejavu/DejaVuSans-Bold.ttf": ("dejavusansbold", "bold sans-serif"),
    "liberation/LiberationSerif-Italic.ttf": ("liberationserifitalic", "italic serif"),
    "liberation/LiberationMono-Regular.ttf": ("liberationmono", "monospaced"),
}
CHARACTERS = string.ascii_uppercase + string.ascii_lowercase + string.digits + "".join(
    chr(c) for c in range(0x391, 0x3AA) if unicodedata.category(chr(c)) == "Lu")
CATEGORY = {"Lu": "uppercase letter", "Ll": "lowercase letter", "Nd": "decimal digit"}


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def captions(char: str, style: str) -> list[str]:
    name = unicodedata.name(char).lower()
    kind = CATEGORY[unicodedata.category(char)]
    script = name.split()[0]
    return [name, f"{name}, {_a(kind)}", f"the {kind} {char} in {_a(style)} font",
            f"a black {style} glyph on white: {name}",
            f"{script} script, {kind}, drawn {style}"]


def render(char: str, font_path: Path, size: int) -> tuple[Image.Image, tuple[int, int, int, int]]:
    font = ImageFont.truetype(str(font_path), int(size * 0.62))
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = draw.textbbox((0, 0), char, font=font)
    x, y = (size - (right - left)) // 2 - left, (size - (bottom - top)) // 2 - top
    draw.text((x, y), char, fill="black", font=font)
    return image, (x + left, y + top, right - left, bottom - top)


def build(out: Path, size: int) -> int:
    boxes = []
    for char in CHARACTERS:
        folder = out / CATEGORY[unicodedata.category(char)].replace(" ", "_")
        folder.mkdir(parents=True, exist_ok=True)
        for file, (short, style) in FONTS.items():
            stem = f"{unicodedata.name(char).lower().replace(' ', '_')}_{short}"
            image, (x, y, w, h) = render(char, FONT_DIR / file, size)
            image.save(folder / f"{stem}.png")
            (folder / f"{stem}.txt").write_text("\n".join(captions(char, style)) + "\n", encoding="utf-8")
            boxes.append(f"{folder.name}/{stem}.png {x} {y} {max(w, 1)} {max(h, 1)}")
    (out.parent / f"{out.name}_boxes.txt").write_text("\n".join(boxes) + "\n", encoding="utf-8")
    return len(boxes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", type=int, default=80)
    args = parser.parse_args()
    print(f"{build(args.out, args.size)} glyph images in {args.out}; boxes in {args.out.parent / (args.out.name + '_boxes.txt')}")


if __name__ == "__main__":
    main()
