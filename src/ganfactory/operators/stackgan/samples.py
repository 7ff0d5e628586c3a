"""Progress grids with the caption under each image (Pillow's bundled font; the text wrapped to the cell)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont

from ganfactory.output.atomic import atomic_write
from ganfactory.output.images import to_uint8

CELL_MIN = 128  # small images are scaled up (nearest) so the caption below stays readable
TEXT_LINES = 4


def _cell(images: list[torch.Tensor], caption: str, side: int,
          font: ImageFont.ImageFont | ImageFont.FreeTypeFont) -> Image.Image:
    """Images [3, h, w] side by side, each scaled to `side`, with the wrapped caption below them."""
    width = side * len(images)
    line_height = 12
    cell = Image.new("RGB", (width, side + TEXT_LINES * line_height + 4), "white")
    for column, image in enumerate(images):
        pil = Image.fromarray(to_uint8(image[None])[0].permute(1, 2, 0).numpy())
        cell.paste(pil.resize((side, side), Image.Resampling.NEAREST), (column * side, 0))
    draw = ImageDraw.Draw(cell)
    chars = max(8, width // 6)
    for row, line in enumerate(textwrap.wrap(caption, chars)[:TEXT_LINES]):
        draw.text((2, side + 2 + row * line_height), line, fill="black", font=font)
    return cell


def save_caption_grid(cells: list[list[torch.Tensor]], captions: list[str], path: Path, *, columns: int = 4) -> Path:
    """One PNG: per caption a cell of its images ([3, H, W] each in [-1, 1], e.g. stage I then stage II)."""
    side = max(CELL_MIN, max(int(img.shape[-1]) for cell in cells for img in cell))
    font = ImageFont.load_default()
    rendered = [_cell(cell, caption, side, font) for cell, caption in zip(cells, captions)]
    cw, ch = rendered[0].size
    rows = -(-len(rendered) // columns)
    grid = Image.new("RGB", (columns * (cw + 4) + 4, rows * (ch + 4) + 4), (200, 200, 200))
    for index, cell in enumerate(rendered):
        grid.paste(cell, (4 + (index % columns) * (cw + 4), 4 + (index // columns) * (ch + 4)))
    return atomic_write(path, lambda tmp: grid.save(tmp, format="PNG"))
