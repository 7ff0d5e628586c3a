"""Segmentation scores over a whole test set: a confusion matrix, then per-class IoU, mIoU and pixel accuracy.

IoU of class k = |pred == k and truth == k| / |pred == k or truth == k|, counted over every pixel of the set
(not averaged per image, as in DatasetGAN's and the PASCAL VOC evaluation). A class that neither the
prediction nor the truth has anywhere in the set has no IoU: it is left out of the mean and listed as absent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def confusion_matrix(pred: np.ndarray, truth: np.ndarray, *, num_classes: int) -> np.ndarray:
    """int64 [K, K] counts, rows = truth class, columns = predicted class, of two equal-shape index arrays."""
    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and truth {truth.shape} differ in shape")
    index = truth.astype(np.int64).ravel() * num_classes + pred.astype(np.int64).ravel()
    return np.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


@dataclass(frozen=True)
class SegmentationScores:
    iou: dict[str, float]  # class name -> IoU, only classes present in prediction or truth
    absent: list[str]  # classes in neither prediction nor truth: not in the mean
    miou: float  # mean of `iou`
    pixel_accuracy: float  # correct pixels / all pixels

    def to_json(self) -> dict:
        return {"iou": self.iou, "absent_classes": self.absent, "miou": self.miou,
                "pixel_accuracy": self.pixel_accuracy}


def scores_from_confusion(matrix: np.ndarray, *, class_names: list[str]) -> SegmentationScores:
    """Per-class IoU, mIoU and pixel accuracy of a [K, K] confusion matrix (rows truth, columns prediction)."""
    hits = np.diag(matrix).astype(np.float64)
    union = matrix.sum(axis=0) + matrix.sum(axis=1) - hits
    iou = {name: float(hits[k] / union[k]) for k, name in enumerate(class_names) if union[k] > 0}
    absent = [name for k, name in enumerate(class_names) if union[k] == 0]
    total = matrix.sum()
    return SegmentationScores(iou=iou, absent=absent, miou=float(np.mean(list(iou.values()))) if iou else 0.0,
                              pixel_accuracy=float(hits.sum() / total) if total else 0.0)
