"""stackgan-prepare on a folder built here: every file of the layout, line by line, and the report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tests.run_outputs import tree_digest

from ganfactory.errors import InputError
from ganfactory.operators.stackgan.prepare import prepare_stackgan_dataset

IMAGES = ["birds/a.png", "birds/b.png", "birds/d.png", "flöwers/rose.png", "flöwers/été.png"]


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_layout_line_by_line(captioned: Path, tmp_path: Path, encoder) -> None:
    before = tree_digest(captioned)
    out = tmp_path / "prepared"
    result = prepare_stackgan_dataset(captioned, out, encoder=encoder, test_fraction=0.34, seed=3)
    assert tree_digest(captioned) == before  # DATA untouched
    assert _lines(out / "classes.txt") == ["1 birds", "2 flöwers"]
    assert _lines(out / "images.txt") == [f"{i} {rel}" for i, rel in enumerate(IMAGES, start=1)]
    assert _lines(out / "image_class_labels.txt") == ["1 1", "2 1", "3 1", "4 2", "5 2"]
    assert _lines(out / "filenames.txt") == [rel.rsplit(".", 1)[0] for rel in IMAGES]
    assert _lines(out / "bounding_boxes.txt") == ["1 0 0 24 20", "2 0 0 30 16", "3 0 0 24 20", "4 0 0 24 20",
                                                  "5 0 0 24 20"]
    split = [line.split() for line in _lines(out / "train_test_split.txt")]
    assert [s[0] for s in split] == ["1", "2", "3", "4", "5"]
    flags = [int(s[1]) for s in split]
    assert sum(flags[:3]) == 1 and sum(flags[3:]) == 1  # stratified: round(3 * .34) = 1, round(2 * .34) -> 1
    captions = [json.loads(line) for line in _lines(out / "captions.jsonl")]
    assert [c["image"] for c in captions] == IMAGES and [c["id"] for c in captions] == [1, 2, 3, 4, 5]
    assert captions[0]["captions"] == ["a red bird with short wings", "a small red bird"]
    assert captions[4] == {"id": 5, "image": "flöwers/été.png", "class": "flöwers",
                           "captions": ["a yellow flower in summer", "bright petals"]}
    embeddings = np.load(out / "embeddings.npy")
    assert embeddings.shape == (5, 3, 384) and embeddings.dtype == np.float32  # 3: the most captions (d.png)
    np.testing.assert_allclose(embeddings[2], encoder.encode(["an olive bird perched", "olive feathers",
                                                              "a dull bird"]), atol=1e-6)
    # an image with fewer captions repeats its own, cyclically
    np.testing.assert_array_equal(embeddings[0, 2], embeddings[0, 0])
    np.testing.assert_array_equal(embeddings[1, 1], embeddings[1, 0])
    report = json.loads((out / "prepare_report.json").read_text(encoding="utf-8"))
    assert report["problems"] == {"caption_without_image": ["data/birds/orphan.txt".removeprefix("data/")],
                                  "missing_caption": ["birds/c.png"], "empty_caption": ["flöwers/empty.png"]}
    assert result.images == 5 and result.train + result.test == 5
    assert json.loads((out / "encoder.json").read_text())["name"] == "all-MiniLM-L6-v2"


def test_same_seed_same_split_and_class_split(captioned: Path, tmp_path: Path, encoder) -> None:
    first = prepare_stackgan_dataset(captioned, tmp_path / "one", encoder=encoder, seed=5)
    prepare_stackgan_dataset(captioned, tmp_path / "two", encoder=encoder, seed=5)
    assert _lines(tmp_path / "one/train_test_split.txt") == _lines(tmp_path / "two/train_test_split.txt")
    assert first.test >= 2
    prepare_stackgan_dataset(captioned, tmp_path / "cls", encoder=encoder, split_by_class=True, test_fraction=0.5)
    flags = [int(line.split()[1]) for line in _lines(tmp_path / "cls/train_test_split.txt")]
    assert flags in ([0, 0, 0, 1, 1], [1, 1, 1, 0, 0])  # one whole class held out


def test_user_boxes_and_missing_box(captioned: Path, tmp_path: Path, encoder) -> None:
    boxes = tmp_path / "boxes.txt"
    boxes.write_text("".join(f"{rel} 1 2 10 8\n" for rel in IMAGES), encoding="utf-8")
    prepare_stackgan_dataset(captioned, tmp_path / "out", encoder=encoder, bounding_boxes=boxes)
    assert _lines(tmp_path / "out/bounding_boxes.txt")[4] == "5 1 2 10 8"
    boxes.write_text("birds/a.png 1 2 10 8\n", encoding="utf-8")
    with pytest.raises(InputError, match="4 image\\(s\\) have no box in .*first: birds/b.png"):
        prepare_stackgan_dataset(captioned, tmp_path / "out2", encoder=encoder, bounding_boxes=boxes)


def test_one_line_errors(tmp_path: Path, captioned: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ganfactory", "-q", "stackgan-prepare", *args],
                              capture_output=True, text=True, timeout=120)

    empty = tmp_path / "empty"
    (empty / "cls").mkdir(parents=True)
    cases = [((str(tmp_path / "nope"), str(tmp_path / "o1")), "is not a folder"),
             ((str(empty), str(tmp_path / "o2")), "No image in"),
             ((str(captioned), str(captioned / "inside")), "lies inside the input folder"),
             ((str(captioned), str(tmp_path / "o3"), "--encoder", str(tmp_path)), "not a sentence-transformers")]
    for args, expected in cases:
        done = run(*args)
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and expected in done.stderr, done.stderr
