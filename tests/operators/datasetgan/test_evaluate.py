"""`datasetgan evaluate`: the U-Net learns a trivial segmentation, IoU/mIoU on hand-made masks (an absent class
left out of the mean), the command end to end on a tiny folder (three mask formats in the test set, the same
figures for the same seed) and its one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from ganfactory.cli import cli, main
from ganfactory.operators.datasetgan import evaluate as evaluate_module
from ganfactory.operators.datasetgan.classes import read_classes
from ganfactory.operators.datasetgan.config import SegmentationEvalConfig
from ganfactory.operators.datasetgan.evaluate import predict, train_unet
from ganfactory.operators.datasetgan.iou import confusion_matrix, scores_from_confusion
from ganfactory.operators.datasetgan.layout import annotation_folder
from ganfactory.operators.datasetgan.pairsets import PairSet
from ganfactory.operators.datasetgan.unet import UNet

from .conftest import CLASSES, SIZE, script_masks

FAST = ["--epochs", "2", "--width", "4", "--levels", "3", "--batch", "4", "--device", "cpu"]


def squares(count: int, *, seed: int, size: int = 16) -> PairSet:
    """Gray noise with one bright square each (class 1), the rest background (class 0)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 90, (count, 3, size, size)).astype(np.uint8)
    masks = np.zeros((count, size, size), dtype=np.uint8)
    for i in range(count):
        side = int(rng.integers(4, 9))
        y, x = rng.integers(0, size - side, 2)
        masks[i, y:y + side, x:x + side] = 1
        images[i][:, masks[i] == 1] += 150
    return PairSet(images=torch.from_numpy(images), masks=torch.from_numpy(masks))


def test_unet_shapes_and_a_trivial_segmentation_is_learned():
    model = UNet(in_channels=3, num_classes=5, levels=3, width=4)
    assert model(torch.zeros(2, 3, 16, 16)).shape == (2, 5, 16, 16) and model.divisor == 4
    train, test = squares(32, seed=0), squares(16, seed=1)
    config = SegmentationEvalConfig(width=4, levels=3, batch=8, lr=1e-2, seed=0, device="cpu")
    untrained = UNet(in_channels=3, num_classes=2, levels=3, width=4).eval()

    def square_iou(net: UNet) -> float:
        pred = predict(net, test.images, device=torch.device("cpu")).numpy()
        return scores_from_confusion(confusion_matrix(pred, test.masks.numpy(), num_classes=2),
                                     class_names=["bg", "square"]).iou.get("square", 0.0)

    trained = train_unet(train, num_classes=2, steps=30, config=config, device=torch.device("cpu"))
    assert square_iou(untrained) < 0.5 < 0.8 < square_iou(trained)


def test_iou_miou_and_pixel_accuracy_on_hand_made_masks():
    truth = np.array([[[0, 0, 1, 1], [0, 0, 1, 1]], [[0, 0, 0, 0], [2, 2, 0, 0]]], dtype=np.uint8)
    pred = np.array([[[0, 0, 1, 0], [0, 0, 1, 1]], [[0, 0, 0, 0], [2, 0, 0, 0]]], dtype=np.uint8)
    matrix = confusion_matrix(pred, truth, num_classes=4)
    assert matrix.sum() == 16 and matrix[1, 0] == 1 and matrix[2, 0] == 1
    scores = scores_from_confusion(matrix, class_names=["bg", "a", "b", "never"])
    # bg: 10 hits / (11 truth + 12 pred - 10); a: 3 / 4; b: 1 / 2; 'never' is in neither: not in the mean.
    assert scores.iou == pytest.approx({"bg": 10 / 12, "a": 3 / 4, "b": 1 / 2})
    assert scores.absent == ["never"]
    assert scores.miou == pytest.approx((10 / 12 + 3 / 4 + 1 / 2) / 3)
    assert scores.pixel_accuracy == pytest.approx(14 / 16)


def real_test_folder(root: Path, classes_path: Path) -> Path:
    """Three 'real' annotated images, their masks as an index PNG, an RGB colour PNG and a LabelMe JSON."""
    colours = np.array([c.color for c in read_classes(classes_path)], dtype=np.uint8)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(7)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)).save(root / "images" / f"r{i}.png")
    mask = np.zeros((SIZE, SIZE), dtype=np.uint8)
    mask[:8], mask[12:] = 1, 2
    Image.fromarray(mask, mode="L").save(root / "masks" / "r0.png")
    Image.fromarray(colours[mask[::-1]], mode="RGB").save(root / "masks" / "r1.png")
    shapes = [{"label": "bright", "points": [[2, 2], [10, 2], [10, 10]], "shape_type": "polygon"}]
    (root / "masks" / "r2.json").write_text(json.dumps({"shapes": shapes, "imageHeight": SIZE, "imageWidth": SIZE}))
    return root


def _evaluate(out: Path, test_dir: Path) -> dict:
    result = CliRunner().invoke(cli, ["datasetgan", "evaluate", str(out), "--real-test", str(test_dir), *FAST])
    assert result.exit_code == 0, result.output
    assert "generated+annotated" in result.output and "mIoU" in result.output
    return json.loads((out / "evaluation" / "segmentation.json").read_text())


def test_evaluate_end_to_end_deterministic_and_resumed(generated, tmp_path, monkeypatch):
    test_dir = real_test_folder(tmp_path / "real", annotation_folder(generated).classes_path)
    out, other = tmp_path / "out", tmp_path / "other"
    shutil.copytree(generated, out)
    shutil.copytree(generated, other)
    report = _evaluate(out, test_dir)
    assert report["classes"] == CLASSES and report["test"]["images"] == 3 and report["complete"]
    assert list(report["models"]) == ["annotated", "generated", "generated+annotated"]
    sizes = {name: m["train_size"] for name, m in report["models"].items()}
    assert sizes == {"annotated": 4, "generated": 4, "generated+annotated": 8}
    steps = {m["steps"] for m in report["models"].values()}
    assert steps == {4}  # 2 epochs of the largest set (8 pairs) in batches of 4, for every model
    for m in report["models"].values():
        assert set(m["iou"]) | set(m["absent_classes"]) == set(CLASSES)
        assert 0 <= m["miou"] <= 1 and 0 <= m["pixel_accuracy"] <= 1
        assert m["miou"] == pytest.approx(np.mean(list(m["iou"].values())))
    # Stopped after the first model, then run again: only the other two train, and the figures are the same
    # as the uninterrupted run's (the same seed gives the same figures).
    trained, original = [], evaluate_module.train_unet

    def stopping(*args, **kwargs):
        trained.append(1)
        if len(trained) == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(evaluate_module, "train_unet", stopping)
    with pytest.raises(KeyboardInterrupt):
        evaluate_module.evaluate_segmentation(other, SegmentationEvalConfig(
            real_test=str(test_dir), epochs=2, width=4, levels=3, batch=4, device="cpu"))
    stopped = json.loads((other / "evaluation" / "segmentation.json").read_text())
    assert list(stopped["models"]) == ["annotated"] and not stopped["complete"]
    trained.clear()
    monkeypatch.setattr(evaluate_module, "train_unet", lambda *a, **k: trained.append(1) or original(*a, **k))
    assert _evaluate(other, test_dir) == report and len(trained) == 2


def _error(capsys, *args) -> str:
    code = main(["datasetgan", "evaluate", *map(str, args), *FAST])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_evaluate_one_line_errors(generated, annotated, tmp_path, capsys):
    classes_path = annotation_folder(generated).classes_path
    assert "holds no PNG images" in _error(capsys, generated, "--real-test", tmp_path / "nowhere")
    test_dir = real_test_folder(tmp_path / "real", classes_path)
    Image.new("L", (SIZE * 2, SIZE * 2)).save(test_dir / "masks" / "r0.png")
    assert "r0.png is 32x32, but its image is 16x16" in _error(capsys, generated, "--real-test", test_dir)
    good = real_test_folder(tmp_path / "good", classes_path)
    assert "run 'ganfactory datasetgan generate" in _error(capsys, annotated, "--real-test", good)
    assert "--real-test DIR" in _error(capsys, generated)
    assert "divisible by 4" in _error(capsys, generated, "--real-test", good, "--size", "18")
    assert not (annotated / "evaluation").exists() and not (generated / "evaluation").exists()


def test_real_test_images_are_read_by_the_shared_reader(generated, tmp_path):
    """Issue 21, fault 12: a 16-bit grey PNG keeps its greys (not all white) and transparent pixels are flattened on
    white, as everywhere else (data/imageio.py), not turned black."""
    from ganfactory.data.imageio import load_image
    from ganfactory.operators.datasetgan.pairsets import real_test_pairs

    test_dir = real_test_folder(tmp_path / "real", annotation_folder(generated).classes_path)
    grey = (np.arange(SIZE * SIZE, dtype=np.uint16).reshape(SIZE, SIZE) * 250).astype(np.uint16)
    Image.fromarray(grey).save(test_dir / "images" / "r0.png")  # mode I;16
    rgba = np.zeros((SIZE, SIZE, 4), dtype=np.uint8)
    rgba[..., 0], rgba[:8, :, 3] = 200, 255  # the lower half fully transparent
    Image.fromarray(rgba, mode="RGBA").save(test_dir / "images" / "r1.png")
    pairs = real_test_pairs(test_dir, classes=read_classes(annotation_folder(generated).classes_path), size=SIZE)
    for index, name in enumerate(("r0", "r1")):
        expected = np.asarray(load_image(test_dir / "images" / f"{name}.png", channels=3)).transpose(2, 0, 1)
        np.testing.assert_array_equal(pairs.images[index].numpy(), expected)
    assert pairs.images[0].float().std() > 10 and (pairs.images[1][:, 8:] == 255).all()


def test_test_images_that_are_annotated_training_images_are_refused(generated, tmp_path, capsys):
    """Issue 21, fault 13: a real test image that is also an annotated training image (added through `add-real`,
    or copied into annotation/images) would be scored as unseen; evaluate refuses in one sentence, naming both."""
    from ganfactory.operators.datasetgan.real import add_real

    out = tmp_path / "out"
    shutil.copytree(generated, out)
    folder = annotation_folder(out)
    test_dir = real_test_folder(tmp_path / "real", folder.classes_path)
    assert main(["-q", "project", str(_stylegan_run_of(out)), str(test_dir / "images"), str(tmp_path / "proj"),
                 "--steps", "2", "--device", "cpu", "--perceptual", "none"]) == 0
    capsys.readouterr()
    add_real(out, tmp_path / "proj")
    for stem, mask in script_masks(folder.images_dir).items():
        if stem.startswith("real-"):
            Image.fromarray(mask, mode="L").save(folder.masks_dir / f"{stem}.png")
    message = _error(capsys, out, "--real-test", test_dir)
    assert "also annotated training images" in message and "real-r0.png" in message and "r0.png" in message
    assert not (out / "evaluation").exists()
    # the same pixels under another name count too
    other = tmp_path / "other"
    shutil.copytree(generated, other)
    clean = real_test_folder(tmp_path / "clean", folder.classes_path)
    shutil.copy(annotation_folder(other).images_dir / "0001.png", clean / "images" / "copy.png")
    shutil.copy(annotation_folder(other).masks_dir / "0001.png", clean / "masks" / "copy.png")
    assert "0001.png" in _error(capsys, other, "--real-test", clean)


def _stylegan_run_of(out: Path) -> Path:
    from ganfactory.operators.datasetgan.generator import read_latents

    return Path(read_latents(annotation_folder(out).latents_path)[2]["run"])


def test_evaluate_stops_after_the_step_in_hand_and_resumes(generated, tmp_path, monkeypatch):
    """The same kind in `datasetgan evaluate` (U-Nets trained for minutes): exit 75, the models scored are kept."""
    from ganfactory.engine.signals import RunInterrupted, StopRequest

    out = tmp_path / "out"
    shutil.copytree(generated, out)
    config = SegmentationEvalConfig(real_test=str(real_test_folder(tmp_path / "real",
                                                                   annotation_folder(out).classes_path)),
                                    epochs=2, width=4, levels=3, batch=4, device="cpu")
    stop, original, calls = StopRequest(), evaluate_module.train_unet, []

    def second_model_stopped(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            stop.set("SIGTERM")
        return original(*args, **kwargs)

    monkeypatch.setattr(evaluate_module, "train_unet", second_model_stopped)
    with pytest.raises(RunInterrupted, match="run the same command to resume"):
        evaluate_module.evaluate_segmentation(out, config, stop=stop)
    report = json.loads((out / "evaluation" / "segmentation.json").read_text())
    assert list(report["models"]) == ["annotated"] and not report["complete"]
    monkeypatch.undo()
    assert evaluate_module.evaluate_segmentation(out, config)["complete"]
