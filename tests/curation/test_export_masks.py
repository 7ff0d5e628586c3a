"""Issue 21, fault 9: `curate export` of a DatasetGAN folder copies each accepted image with its mask (and preview),
and the exported manifest points at the copies, never back into the run folder; the run folder is only read."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image
from tests.run_outputs import tree_digest

from ganfactory.curation.decisions import Decision, DecisionStore
from ganfactory.curation.export import export_curated
from ganfactory.output.manifest import SEGMENTATION, make_entry, read_manifest, stable_id


def _datasetgan_run(root, pairs: int = 3):
    data = root / "Data"
    for kind in ("images", "masks", "previews"):
        (data / kind).mkdir(parents=True)
    lines = []
    for i in range(pairs):
        name = f"gen{i:08d}.png"
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(data / "images" / name)
        Image.fromarray(np.full((8, 8), i % 2, np.uint8)).save(data / "masks" / name)
        Image.fromarray(np.zeros((8, 16, 3), np.uint8)).save(data / "previews" / name)
        annotation = {"name": "segmentation", "type": SEGMENTATION, "annotation-format": "PNG",
                      "annotation-loc": str((data / "masks" / name).resolve()), "class_names": ["bg", "fg"]}
        lines.append(make_entry(entry_id=stable_id("datasetgan", name), source=(data / "images" / name).resolve(),
                                annotations=[annotation], operator="datasetgan", seed=i,
                                preview=str((data / "previews" / name).resolve())))
    (root / "output_0.manifest").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return root, [line["id"] for line in lines]


def test_export_copies_masks_and_points_the_manifest_at_the_copies(tmp_path):
    run, ids = _datasetgan_run(tmp_path / "run")
    DecisionStore().decide(run, {ids[0]: Decision.ACCEPT, ids[2]: Decision.ACCEPT, ids[1]: Decision.REJECT})
    before = tree_digest(run)
    result = export_curated(run, tmp_path / "curated")
    assert tree_digest(run) == before and result.written == 2
    lines = read_manifest(result.manifest)
    assert len(lines) == 2
    for line in lines:
        (annotation,) = line["annotation"]
        for path in (line["source"], annotation["annotation-loc"], line["preview"]):
            assert str(run) not in path and path.startswith(str(result.out)) and (result.out / path).is_file()
        name = f"gen{line['seed']:08d}.png"
        mask = np.asarray(Image.open(annotation["annotation-loc"]))
        np.testing.assert_array_equal(mask, np.asarray(Image.open(run / "Data" / "masks" / name)))
        assert annotation["annotation-loc"] != line["source"]
    assert sorted(p.name for p in (result.out / "masks").iterdir()) == ["gen00000000.png", "gen00000002.png"]


def test_a_mask_outside_the_run_stops_the_export(tmp_path):
    """A manifest is a file a user may edit: a mask path leaving the run is refused like such a source."""
    import pytest

    from ganfactory.errors import InputError

    run, ids = _datasetgan_run(tmp_path / "run", pairs=1)
    elsewhere = tmp_path / "elsewhere.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(elsewhere)
    line = json.loads((run / "output_0.manifest").read_text())
    line["annotation"][0]["annotation-loc"] = str(run / "Data" / ".." / ".." / "elsewhere.png")
    (run / "output_0.manifest").write_text(json.dumps(line) + "\n")
    DecisionStore().decide(run, {ids[0]: Decision.ACCEPT})
    with pytest.raises(InputError, match="names the mask .* outside the run folder"):
        export_curated(run, tmp_path / "curated")
    assert not (tmp_path / "curated").exists()
