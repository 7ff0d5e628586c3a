"""The before/after contact sheet of `prepare --remove-background`, to check GrabCut by eye."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw

from ganfactory.data.imageio import fit, load_image
from ganfactory.output.atomic import atomic_write

if TYPE_CHECKING:
    from ganfactory.data.prepare_report import PrepareReport

SHEET_NAME = ".background_sheet.png"  # hidden: discovery never reads it as a training image
MAX_PAIRS = 24
PAIRS_PER_ROW = 4
TILE = 128
GAP, PAIR_GAP, FRAME = 4, 16, 3
DOUBT_COLOUR, SHEET_COLOUR = (220, 30, 30), (64, 64, 64)


def write_contact_sheet(report: PrepareReport, *, settings) -> Path:
    """Pairs (source fitted the same way | written output), doubtful ones first and framed in red."""
    chosen = sorted(report.files, key=lambda prepared: prepared.background_doubt is None)[:MAX_PAIRS]
    tile = min(TILE, settings.resolution)
    rows = -(-len(chosen) // PAIRS_PER_ROW)
    pair_w = 2 * tile + GAP
    columns = min(len(chosen), PAIRS_PER_ROW)
    sheet = Image.new("RGB", (columns * (pair_w + PAIR_GAP) + PAIR_GAP, rows * (tile + PAIR_GAP) + PAIR_GAP),
                      SHEET_COLOUR)
    draw = ImageDraw.Draw(sheet)
    for index, prepared in enumerate(chosen):
        left = PAIR_GAP + (index % PAIRS_PER_ROW) * (pair_w + PAIR_GAP)
        top = PAIR_GAP + (index // PAIRS_PER_ROW) * (tile + PAIR_GAP)
        before = fit(load_image(prepared.source, channels=settings.channels, background=settings.background),
                     (settings.resolution, settings.resolution), mode=settings.mode, background=settings.background)
        with Image.open(prepared.output) as written:
            after = written.convert("RGB")
        if prepared.background_doubt:
            draw.rectangle((left - FRAME, top - FRAME, left + pair_w + FRAME - 1, top + tile + FRAME - 1),
                           fill=DOUBT_COLOUR)
        sheet.paste(before.convert("RGB").resize((tile, tile)), (left, top))
        sheet.paste(after.resize((tile, tile)), (left + tile + GAP, top))
    path = report.destination / SHEET_NAME
    return atomic_write(path, lambda tmp: sheet.save(tmp, format="PNG"))
