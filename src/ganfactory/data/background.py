"""Background removal for `prepare --remove-background`: OpenCV's GrabCut, filled with a flat colour.

The StyleGAN2-ADA seed preparation removes the background of product photos and puts them on white.
GrabCut (Rother et al. 2004, "GrabCut: interactive foreground extraction using iterated graph cuts") needs
no learned weights: it starts from a rectangle a few percent inside the image border, fits colour
mixture models to the inside and outside and iterates a graph cut. It works on objects that stand out
from a fairly plain surround; it is unreliable when the object fills the frame or blends into its
surroundings, so every result carries a foreground fraction and a flag when the estimate is doubtful.
OpenCV is an optional dependency (`pip install 'ganfactory[background]'`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ganfactory.data.imageio import Color, fill_for
from ganfactory.errors import ConfigError

# GrabCut is O(pixels x iterations); 192 px keeps one image around 0.1 s on a CPU core, and the mask is
# scaled back to the image size (object outlines need no more detail at training resolutions).
WORK_SIDE = 192
MARGIN = 0.04  # the initial rectangle: 4% in from each side is "probably foreground"
ITERATIONS = 5
TOO_SMALL, TOO_LARGE = 0.03, 0.92  # foreground fractions outside these make the estimate doubtful


@dataclass(frozen=True)
class ForegroundEstimate:
    """What GrabCut found: the foreground's share of the image, and why it is doubtful (None: plausible)."""

    fraction: float
    doubt: str | None


def require_opencv():
    """The cv2 module, or one sentence naming the package to install."""
    try:
        import cv2
    except ImportError:
        raise ConfigError("--remove-background needs OpenCV; install it with `pip install "
                          "'ganfactory[background]'` (opencv-python-headless), or leave the option out.") from None
    return cv2


def foreground_mask(img: Image.Image) -> np.ndarray:
    """GrabCut foreground as float32 [H, W] in [0, 1] (edges slightly feathered) for an 'L' or 'RGB' image."""
    cv2 = require_opencv()
    width, height = img.size
    scale = min(1.0, WORK_SIDE / max(width, height))
    small = img.convert("RGB").resize((max(1, round(width * scale)), max(1, round(height * scale))),
                                      Image.Resampling.BILINEAR)
    bgr = np.ascontiguousarray(np.asarray(small)[:, :, ::-1])
    h, w = bgr.shape[:2]
    dx, dy = max(1, round(w * MARGIN)), max(1, round(h * MARGIN))
    mask = np.zeros((h, w), np.uint8)
    if w - 2 * dx < 2 or h - 2 * dy < 2:
        return np.ones((height, width), np.float32)  # too small to separate anything: keep the image
    cv2.setRNGSeed(0)  # GrabCut's GMM initialisation uses k-means: make it repeatable
    cv2.grabCut(bgr, mask, (dx, dy, w - 2 * dx, h - 2 * dy), np.zeros((1, 65), np.float64),
                np.zeros((1, 65), np.float64), ITERATIONS, cv2.GC_INIT_WITH_RECT)
    hard = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 1.0, 0.0).astype(np.float32)
    soft = cv2.GaussianBlur(hard, (0, 0), sigmaX=0.8)
    return cv2.resize(soft, (width, height), interpolation=cv2.INTER_LINEAR)


def judge(mask: np.ndarray) -> ForegroundEstimate:
    """The foreground fraction, and a reason to doubt it: almost nothing, almost everything, or an object
    that runs into every side of the starting rectangle (GrabCut then usually kept background too)."""
    hard = mask > 0.5
    fraction = float(hard.mean())
    h, w = hard.shape
    dy, dx = max(1, round(h * MARGIN)), max(1, round(w * MARGIN))
    inner = hard[dy:h - dy, dx:w - dx]
    if fraction < TOO_SMALL:
        return ForegroundEstimate(fraction, f"only {fraction:.1%} of the image was kept as foreground")
    if fraction > TOO_LARGE:
        return ForegroundEstimate(fraction, f"{fraction:.1%} of the image was kept: little background was found")
    if inner.size and inner[0].any() and inner[-1].any() and inner[:, 0].any() and inner[:, -1].any():
        return ForegroundEstimate(fraction, "the foreground touches all four sides: the object may fill the frame")
    return ForegroundEstimate(fraction, None)


def remove_background(img: Image.Image, *, background: Color) -> tuple[Image.Image, ForegroundEstimate]:
    """`img` ('L' or 'RGB') with everything GrabCut calls background replaced by `background`; the
    foreground estimate says how much was kept and whether to check the result by eye. When GrabCut
    keeps almost nothing, the image is returned unchanged (and flagged)."""
    mask = foreground_mask(img)
    estimate = judge(mask)
    if estimate.fraction < TOO_SMALL:  # a blank image would only teach the GAN blanks: keep this one as it was
        return img, ForegroundEstimate(estimate.fraction, f"{estimate.doubt}; the image is kept unchanged")
    fill = Image.new(img.mode, img.size, fill_for(img, background))
    alpha = Image.fromarray(np.clip(np.rint(mask * 255), 0, 255).astype(np.uint8))
    return Image.composite(img, fill, alpha), estimate
