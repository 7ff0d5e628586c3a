"""The test-overlap guard of `datasetgan evaluate`: a real test image that is also an annotated training image
would be scored as if unseen, so the evaluation refuses (as scikit-learn-style tools refuse leaked test data),
naming the images, before anything is trained.

An overlap is found three ways: the test file is the one `add-real` projected (samples.json records its path),
it has that file's bytes (a copy), or it has the same pixels as an annotated image at the evaluation size.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ganfactory.errors import InputError
from ganfactory.operators.datasetgan.annotations import pair_masks
from ganfactory.operators.datasetgan.layout import AnnotationFolder
from ganfactory.operators.datasetgan.pairsets import PairSet


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _recorded_sources(folder: AnnotationFolder) -> dict[str, str]:
    """{annotated id: the real file `add-real` projected it from}, as samples.json records it."""
    try:
        records = json.loads(folder.samples_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(r["id"]): str(r["source"]) for r in records if isinstance(r, dict) and r.get("source")}


def _training_keys(folder: AnnotationFolder, ids: list[str], images: PairSet) -> dict[str, str]:
    """What identifies each annotated image: its recorded real file's path and bytes, its own bytes, its pixels."""
    keys: dict[str, str] = {}
    sources = _recorded_sources(folder)
    for index, sid in enumerate(ids):
        name = f"{sid}.png"
        keys["pixels:" + hashlib.sha256(images.images[index].numpy().tobytes()).hexdigest()] = name
        for path in [folder.images_dir / name] + ([Path(sources[sid])] if sid in sources else []):
            digest = _sha256(path)
            if digest:
                keys["bytes:" + digest] = name
        if sid in sources:
            keys["path:" + str(Path(sources[sid]).resolve())] = name
    return keys


def refuse_test_overlap(annotation: AnnotationFolder, annotated: PairSet, test_dir: Path, test: PairSet) -> None:
    """Raise InputError (one sentence naming the pairs and the fix) when a test image of TEST_DIR/images is one of
    the annotated training images of `annotation`. annotated and test: the sets read at the evaluation size, in
    the order of their folders' images."""
    test_folder = AnnotationFolder(Path(test_dir))
    keys = _training_keys(annotation, [stem for stem, _ in pair_masks(annotation)], annotated)
    found = []
    for index, (stem, _) in enumerate(pair_masks(test_folder)):
        path = test_folder.images_dir / f"{stem}.png"
        own = ["path:" + str(path.resolve()), "bytes:" + (_sha256(path) or ""),
               "pixels:" + hashlib.sha256(test.images[index].numpy().tobytes()).hexdigest()]
        match = next((keys[key] for key in own if key in keys), None)
        if match:
            found.append(f"{path.name} = {annotation.images_dir.name}/{match}")
    if found:
        raise InputError(f"{len(found)} test images of {test_folder.images_dir} are also annotated training images "
                         f"({', '.join(found[:3])}{', ...' if len(found) > 3 else ''}), so they would be scored as "
                         "unseen; remove them from the test folder or from OUT/annotation (with their masks).")
