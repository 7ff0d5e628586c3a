"""Issue 21, fault 4: `evaluate` on a run folder reads the images its manifest lists, not every image file under
Data/ (a DatasetGAN folder also holds masks, previews and dropped pairs there)."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from ganfactory.metrics.sources import open_source
from ganfactory.output.manifest import SEGMENTATION, make_entry, stable_id


def _datasetgan_like(root, pairs: int = 3):
    data = root / "Data"
    lines = []
    for kind in ("images", "masks", "previews", "dropped/images", "dropped/masks"):
        (data / kind).mkdir(parents=True)
    for i in range(pairs + 1):
        name = f"gen{i:08d}.png"
        where = "" if i < pairs else "dropped/"
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(data / where / "images" / name)
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(data / where / "masks" / name)
        if i < pairs:
            Image.fromarray(np.zeros((8, 16, 3), np.uint8)).save(data / "previews" / name)
            annotation = {"name": "segmentation", "type": SEGMENTATION,
                          "annotation-loc": str((data / "masks" / name).resolve())}
            lines.append(make_entry(entry_id=stable_id("datasetgan", name), source=(data / "images" / name).resolve(),
                                    annotations=[annotation], operator="datasetgan",
                                    preview=str((data / "previews" / name).resolve())))
    (root / "output_0.manifest").write_text("".join(json.dumps(line) + "\n" for line in lines))
    (root / "config.json").write_text("{}")
    return root


def test_a_datasetgan_folder_counts_only_its_listed_images(tmp_path):
    source = open_source(_datasetgan_like(tmp_path / "run"))
    files = [p for paths in source.classes.values() for p in paths]
    assert source.num_images == 3 and all(p.parent.name == "images" for p in files)
    assert {p.name for p in files} == {f"gen{i:08d}.png" for i in range(3)}
