"""The collapse watch (issue 22): from fixed images, no training. It must flag classes that draw the same image
for one latent (the issue's run: every class drew a "0", each class as varied as the real data) and samples in a
tight cluster, and stay quiet on a varied set whose classes differ."""

from __future__ import annotations

import numpy as np
import torch

from ganfactory.metrics.collapse import CollapseWatch, RealSpread, read_collapse

SIZE, CLASSES = 16, 3


def _glyph(kind: int, style: int) -> np.ndarray:
    """Class 0 a horizontal bar, 1 a vertical bar, 2 a ring; `style` moves it, thickens it and sets its brightness
    (the same style in two classes: the same 'latent' drawn as two classes)."""
    rng = np.random.default_rng(style)
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    centre, width = 5 + rng.integers(0, 6, size=2), 1 + rng.integers(0, 3)
    if kind == 0:
        mask = np.abs(y - centre[0]) <= width
    elif kind == 1:
        mask = np.abs(x - centre[1]) <= width
    else:
        radius = np.hypot(y - centre[0], x - centre[1])
        mask = np.abs(radius - 4) <= width / 2 + 0.5
    return np.where(mask, 120 + rng.integers(0, 135), rng.integers(0, 40)).astype(np.uint8)


def _stack(kinds_styles: list[list[tuple[int, int]]]) -> torch.Tensor:
    """[K, S, 1, H, W] uint8 from a K x S table of (kind, style)."""
    return torch.from_numpy(np.array([[_glyph(k, s) for k, s in row] for row in kinds_styles]))[:, :, None]


def _real() -> RealSpread:
    images = _stack([[(k, 100 + i) for i in range(12)] for k in range(CLASSES)])
    labels = torch.arange(CLASSES).repeat_interleave(12)
    return RealSpread.of(images.flatten(0, 1), labels, num_classes=CLASSES)


LATENTS = range(8)
HEALTHY = [[(k, s) for s in LATENTS] for k in range(CLASSES)]           # each class its own glyph, styles vary
CLASSES_ALIKE = [[(0, s) for s in LATENTS] for _ in range(CLASSES)]     # every class draws the bar of latent s


def test_a_varied_class_distinct_set_raises_nothing():
    reading = read_collapse(_stack(HEALTHY), _real())
    assert reading.findings(["a", "b", "c"]) == {}, reading
    assert reading.classes_alike > 1 and reading.spread > 0.7 and min(reading.diversity.values()) > 0.7


def test_classes_that_draw_the_same_image_for_a_latent_are_flagged():
    reading = read_collapse(_stack(CLASSES_ALIKE), _real())
    # Each class is as varied as the real images: the within-class watch alone would say nothing (issue 22).
    assert min(reading.diversity.values()) > 0.7, reading
    assert reading.classes_alike < 1e-6
    found = reading.findings(["a", "b", "c"])
    assert set(found) == {"classes_alike"} and "Classes produce the same image" in found["classes_alike"]


def test_classes_that_differ_only_a_little_for_a_latent_are_flagged():
    # Not identical: a faint trace of the class on top of the shared image (10% of the class's own glyph).
    shared = _stack(CLASSES_ALIKE).float()
    own = _stack(HEALTHY).float()
    reading = read_collapse((0.9 * shared + 0.1 * own).round().to(torch.uint8), _real())
    assert "classes_alike" in reading.findings(["a", "b", "c"]), reading


def test_samples_in_a_tight_cluster_are_flagged():
    # One image (a ring) with small pixel noise, whatever the class or latent.
    torch.manual_seed(0)
    base = torch.from_numpy(_glyph(2, 7)).float()
    noise = torch.randn(CLASSES, len(LATENTS), 1, SIZE, SIZE) * 6
    reading = read_collapse((base + noise).clamp(0, 255).round().to(torch.uint8), _real())
    found = reading.findings(["a", "b", "c"])
    assert "cluster" in found and "tight cluster" in found["cluster"], reading
    assert reading.spread < 0.4


def test_the_watch_raises_a_sign_once_while_it_lasts_and_again_after_it_cleared():
    watch = CollapseWatch(real=_real(), class_names=["a", "b", "c"])
    health, alerts = watch.observe(_stack(HEALTHY), where="at 1.000 kimg")
    assert alerts == [] and {"diversity/min", "diversity/classes", "diversity/spread"} <= health.keys()
    _, alerts = watch.observe(_stack(CLASSES_ALIKE), where="at 2.000 kimg")
    assert len(alerts) == 1 and alerts[0].startswith("Classes produce the same image") and "at 2.000 kimg" in alerts[0]
    assert watch.observe(_stack(CLASSES_ALIKE), where="at 3.000 kimg")[1] == []
    assert watch.observe(_stack(HEALTHY), where="at 4.000 kimg")[1] == []
    assert len(watch.observe(_stack(CLASSES_ALIKE), where="at 5.000 kimg")[1]) == 1
