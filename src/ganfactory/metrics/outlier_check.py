"""The work behind `ganfactory validate DATA --outliers`: list images far from their class, write a contact sheet.

Nothing is moved or deleted; the list (outliers.json) and the sheet (outliers.png) go to a folder beside the
data unless another is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ganfactory.data.discovery import discover_images
from ganfactory.data.imageio import load_image, pil_to_tensor, resize
from ganfactory.metrics.features import folder_features
from ganfactory.metrics.loaders import load_feature_network
from ganfactory.metrics.outliers import DEFAULT_K, DEFAULT_THRESHOLD, class_outliers
from ganfactory.output.atomic import atomic_write_json
from ganfactory.output.images import save_grid
from ganfactory.output.overlap import refuse_overlap
from ganfactory.output.writable import require_writable_output


@dataclass(frozen=True)
class OutlierReport:
    outliers: list[dict[str, object]]  # {"file", "class", "score", "distance"}, highest score first
    checked: int
    json_path: Path
    sheet_path: Path | None
    network: dict[str, object]

    def summary_lines(self) -> list[str]:
        lines = [f"outliers: {len(self.outliers)} of {self.checked} images lie far from the rest of their class "
                 f"(robust z-score of the mean cosine distance to the {DEFAULT_K} nearest same-class images; "
                 f"network {self.network['name']}); nothing was moved or deleted."]
        lines += [f"  {o['score']:7.2f}  {o['class']}: {o['file']}" for o in self.outliers]
        lines.append(f"list: {self.json_path}" + (f"; contact sheet: {self.sheet_path}" if self.sheet_path else ""))
        return lines


def find_outliers(data: Path, *, out: Path | None = None, features: Path | None = None, threshold: float =
                  DEFAULT_THRESHOLD, k: int = DEFAULT_K, cache_dir: Path | None = None,
                  input_size: int | None = None) -> OutlierReport:
    """Score every image of DATA against its class, write outliers.json and outliers.png, return the report."""
    data = Path(data)
    out = Path(out) if out is not None else data.parent / f"{data.resolve().name}-outliers"
    refuse_overlap(inputs=[data], outputs=[out, out / "outliers.json", out / "outliers.png"],
                   command="validate --outliers")
    require_writable_output(out)  # before the features
    classes = discover_images(data).classes
    network = load_feature_network(features, input_size=input_size)
    feature_set = folder_features(data, classes, network=network, cache_dir=cache_dir)
    found = class_outliers(feature_set.features, feature_set.labels, k=k, threshold=threshold)
    listed = [{"file": str(feature_set.files[o.index]), "class": feature_set.class_names[feature_set.labels[o.index]],
               "score": round(o.score, 3), "distance": round(o.distance, 5)} for o in found]
    json_path = atomic_write_json(out / "outliers.json", {"data": str(data), "threshold": threshold, "k": k,
                                                          "network": network.identity.as_dict(),
                                                          "checked": len(feature_set), "outliers": listed})
    sheet = None
    if listed:
        tiles = [pil_to_tensor(resize(load_image(Path(o["file"]), channels=3), (96, 96))) for o in listed]
        sheet = save_grid(torch.stack(tiles), out / "outliers.png")
    return OutlierReport(outliers=listed, checked=len(feature_set), json_path=json_path, sheet_path=sheet,
                         network=network.identity.as_dict())
