"""`ganfactory project` (real images to latents) and `datasetgan add-real` on the tiny StyleGAN run of conftest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganfactory.cli import main
from ganfactory.errors import InputError
from ganfactory.operators.datasetgan.classes import read_classes
from ganfactory.operators.datasetgan.generator import load_generator, read_latents, write_latents
from ganfactory.operators.datasetgan.layout import annotation_folder
from ganfactory.operators.datasetgan.operator import annotated_set
from ganfactory.operators.datasetgan.real import add_real
from ganfactory.operators.stylegan.projection.networks import load_projection_networks
from ganfactory.operators.stylegan.projection.optimise import (
    ProjectionSettings,
    learning_rate,
    project,
    w_statistics,
)
from ganfactory.operators.stylegan.projection.perceptual import perceptual_features
from ganfactory.operators.stylegan.projection.run import psnr_db
from ganfactory.output.images import to_uint8

from .conftest import copy_of, script_masks

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def own_images(stylegan_run):
    """Three images G made itself from known latents: a projection can reach them exactly."""
    nets = load_projection_networks(stylegan_run, device=CPU, with_discriminator=True)
    torch.manual_seed(1)
    with torch.no_grad():
        ws = nets.G.mapping(torch.randn(3, nets.G.z_dim), None)
        images = nets.G.synthesis(ws, noise_mode="const").float()
    return nets, images


def _project(nets, images, space: str):
    w_avg, w_std = w_statistics(nets.G, classes=[None] * len(images), samples=256)
    torch.manual_seed(0)
    settings = ProjectionSettings(space=space, steps=40)  # type: ignore[arg-type]
    return project(nets.G, images, w_avg=w_avg, w_std=w_std, settings=settings,
                   features=perceptual_features("discriminator", D=nets.D, device=CPU))


@pytest.fixture(scope="module")
def projections(own_images):
    """The W and the W+ projection of own_images, made once for the tests below."""
    nets, images = own_images
    return _project(nets, images, "w"), _project(nets, images, "w+")


def test_projection_reproduces_images_the_generator_made(own_images, projections):
    nets, images = own_images
    result = projections[0]
    assert (result.final_loss < 0.5 * result.initial_loss).all()
    with torch.no_grad():
        start = nets.G.synthesis(w_statistics(nets.G, classes=[None] * 3, samples=256)[0].unsqueeze(1)
                                 .expand(-1, nets.G.num_ws, -1), noise_mode="const")
    before, after = psnr_db(to_uint8(start), to_uint8(images)), psnr_db(to_uint8(result.images), to_uint8(images))
    assert (after > before + 3).all()  # at least 3 dB better than the average image, for every image
    assert (result.images - images).square().mean() < 0.5 * (start - images).square().mean()


def test_w_plus_is_at_least_as_good_as_w(own_images, projections):
    nets, _ = own_images
    w, w_plus = projections
    assert torch.allclose(w_plus.w_loss, w.final_loss)  # the same W search first
    assert (w_plus.final_loss <= w.final_loss * 1.001).all()
    assert w_plus.ws.shape == (3, nets.G.num_ws, nets.G.w_dim)
    assert not torch.equal(w_plus.ws[:, 0], w_plus.ws[:, -1])  # one latent per layer


def test_learning_rate_follows_the_paper_ramps():
    assert learning_rate(0.0, peak=0.1, rampdown=0.25, rampup=0.05) == 0.0
    assert learning_rate(0.5, peak=0.1, rampdown=0.25, rampup=0.05) == pytest.approx(0.1)
    assert learning_rate(0.875, peak=0.1, rampdown=0.25, rampup=0.05) == pytest.approx(0.05)


def test_inception_distance_is_zero_for_equal_images_and_has_gradients():
    features = perceptual_features("inception", D=None, device=CPU)
    from ganfactory.operators.stylegan.projection.perceptual import feature_distance

    a = torch.rand(2, 1, 16, 16) * 2 - 1
    b = torch.rand(2, 1, 16, 16, requires_grad=True)
    assert feature_distance(features(a), features(a)).abs().max() < 1e-6
    distance = feature_distance(features(b), [f.detach() for f in features(a)])
    distance.sum().backward()
    assert (distance > 0).all() and b.grad is not None and b.grad.abs().sum() > 0


def _real_folder(root: Path, count: int = 2) -> Path:
    folder = root / "real"
    folder.mkdir()
    rng = np.random.default_rng(5)
    for i in range(count):  # 24 px RGB: cropped and resized to the run's 16 px
        Image.fromarray(rng.integers(0, 255, (24, 30, 3), dtype=np.uint8)).save(folder / f"photo{i}.png")
    return folder


def test_project_command_writes_latents_reconstructions_and_psnr(stylegan_run, tmp_path, capsys):
    real, out = _real_folder(tmp_path), tmp_path / "proj"
    assert main(["-q", "project", str(stylegan_run), str(real), str(out), "--steps", "3", "--device", "cpu",
                 "--perceptual", "discriminator"]) == 0
    assert "mean PSNR" in capsys.readouterr().out
    ws, ids, meta = read_latents(out / "latents.safetensors")
    assert ids == ["photo0", "photo1"] and ws.shape[0] == 2 and len(meta["checkpoint_sha256"]) == 64
    record = json.loads((out / "projection.json").read_text())
    assert [r["id"] for r in record["images"]] == ids and all(r["psnr_db"] > 0 for r in record["images"])
    assert Image.open(out / "reconstructions" / "photo0.png").size == (16, 16)
    assert Image.open(out / "targets" / "photo1.png").size == (16, 16)


@pytest.mark.parametrize("case", ["empty", "unreadable", "wrong_run", "inside"])
def test_project_bad_input_is_one_line(stylegan_run, tmp_path, capsys, case):
    images, run, out = tmp_path / "images", stylegan_run, tmp_path / "out"
    images.mkdir()
    if case == "unreadable":
        (images / "broken.png").write_bytes(b"not a png")
    elif case in ("wrong_run", "inside"):
        _real_folder(images)
        run = tmp_path / "images" if case == "wrong_run" else run
        out = images / "out" if case == "inside" else out
    code = main(["project", str(run), str(images), str(out), "--steps", "2", "--device", "cpu",
                 "--perceptual", "none"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and err.startswith("error:") and len(err.splitlines()) == 1 and "internal" not in err
    assert not (out / "latents.safetensors").exists()


def test_projected_real_images_join_datasetgan_training(stylegan_run, sampled, tmp_path):
    out, proj = copy_of(sampled, tmp_path), tmp_path / "proj"
    assert main(["-q", "project", str(stylegan_run), str(_real_folder(tmp_path)), str(proj), "--steps", "2",
                 "--device", "cpu", "--perceptual", "none"]) == 0
    assert add_real(out, proj) == ["real-photo0", "real-photo1"]
    assert add_real(out, proj) == []  # again: nothing new, no duplicate latents
    folder = annotation_folder(out)
    folder.masks_dir.mkdir()
    for stem, mask in script_masks(folder.images_dir).items():
        Image.fromarray(mask, mode="L").save(folder.masks_dir / f"{stem}.png")
    source = load_generator(folder.generator_path, device=CPU)
    ids, ws, masks = annotated_set(folder, source, read_classes(folder.classes_path))
    assert ids == ["0000", "0001", "0002", "0003", "real-photo0", "real-photo1"] and masks.shape == (6, 16, 16)
    projected, _, _ = read_latents(proj / "latents.safetensors")
    assert torch.equal(ws[4:], projected)
    assert (folder.reconstructions_dir / "real-photo1.png").is_file()
    samples = json.loads(folder.samples_path.read_text())
    assert samples[-1]["real"] and samples[-1]["source"].endswith("photo1.png")


def test_add_real_refuses_another_checkpoint(sampled, tmp_path):
    out, proj = copy_of(sampled, tmp_path), tmp_path / "proj"
    write_latents(proj / "latents.safetensors", ws=torch.zeros(1, 2, 4), seeds=[-1], classes=[None], ids=["x"],
                  metadata={"checkpoint_sha256": "0" * 64})
    with pytest.raises(InputError, match="another StyleGAN checkpoint"):
        add_real(out, proj)
