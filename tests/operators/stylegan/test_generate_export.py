"""Exported ONNX generator against torch G_ema, generation from the .onnx, and interpolation GIFs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganfactory.engine.checkpoint import file_sha256
from ganfactory.errors import ConfigError
from ganfactory.export.cli import export_run
from ganfactory.operators.stylegan.architecture import StyleGANArchitecture
from ganfactory.operators.stylegan.generate import TorchSampler
from ganfactory.operators.stylegan.interpolate import interpolate_run
from ganfactory.operators.stylegan.models import generator_from_state
from ganfactory.operators.stylegan.onnx import OnnxStyleGANSampler

from .conftest import CLASSES, TINY, image_files, latest_ckpt, load_ckpt, manifest_lines, one_thread, pixels, train


@pytest.fixture(scope="module")
def onnx_path(trained, tmp_path_factory) -> Path:
    with one_thread():
        return export_run(trained, tmp_path_factory.mktemp("onnx") / "generator.onnx")


@pytest.fixture(scope="module")
def torch_sampler(trained) -> TorchSampler:
    state = load_ckpt(latest_ckpt(trained))["operator"]
    return TorchSampler(generator_from_state(state, device=torch.device("cpu")), torch.device("cpu"))


@pytest.mark.parametrize("seeds", [[3], [0, 1, 2, 7, 1000]], ids=["batch1", "batch5"])
def test_onnx_matches_torch_g_ema(onnx_path, torch_sampler, seeds):
    onnx = OnnxStyleGANSampler(onnx_path)
    assert onnx.conditional and onnx.class_names == list(CLASSES)
    for class_index in range(len(CLASSES)):
        for truncation in (1.0, 0.7):
            expected = torch_sampler(seeds=seeds, class_index=class_index, truncation=truncation)
            got = onnx(seeds=seeds, class_index=class_index, truncation=truncation)
            assert got.shape == expected.shape == (len(seeds), 3, 16, 16)
            assert (got - expected).abs().max() < 1e-3, (class_index, truncation)
    # Truncation does something (so psi really is an input of the exported graph).
    assert (onnx(seeds=seeds, class_index=0, truncation=0.7) - onnx(seeds=seeds, class_index=0, truncation=1.0)
            ).abs().max() > 1e-3


def test_predict_from_the_onnx_file(onnx_path, trained, tmp_path):
    out = tmp_path / "onnx_predict"
    result = train(None, out, predict=True, resume=str(onnx_path))
    count = TINY["generate_num"]
    assert result.images_written == 2 * count
    lines = manifest_lines(out)
    assert len(lines) == 2 * count
    assert {(line["checkpoint"], line["checkpoint_sha256"]) for line in lines} == {
        (onnx_path.name, file_sha256(onnx_path))}
    assert {line["annotation"][0]["name"] for line in lines} == set(CLASSES)
    for name in CLASSES:
        files = image_files(out / "Data" / name)
        assert [f.name for f in files] == [f"seed{i:08d}.png" for i in range(count)]
        for file in files:  # the torch run's images, up to rounding at a pixel boundary
            assert np.abs(pixels(file) - pixels(trained / "Data" / name / file.name)).max() <= 1


def test_interpolation_writes_a_looping_gif(trained, tmp_path):
    with one_thread():
        path = interpolate_run(trained, seeds=[1, 2, 5], frames=4, class_name="dogs", truncation=0.8,
                               output=tmp_path / "morph.gif")
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 3 * 4 and gif.size == (16, 16)
    default = interpolate_run(trained, seeds=[1, 2], frames=5)  # the default place: RUN/samples/
    assert default == trained / "samples" / "interpolation_1-2.gif"
    with Image.open(default) as gif:
        assert gif.n_frames == 2 * 5
    default.unlink()


def test_interpolation_rejects_an_unknown_class_and_one_seed(trained):
    with pytest.raises(ConfigError, match="Unknown class 'birds'"):
        interpolate_run(trained, seeds=[1, 2], frames=2, class_name="birds")
    with pytest.raises(ConfigError, match="at least two seeds"):
        interpolate_run(trained, seeds=[1], frames=2)


def test_a_checkpoint_rebuilds_its_generator_from_its_recorded_architecture(trained, torch_sampler, tmp_path):
    """Format 2 records the architecture: a changed preset table cannot change what it rebuilds. A format-1 file
    (no meta) still loads, from its saved config."""
    checkpoint = load_ckpt(latest_ckpt(trained))
    assert checkpoint["meta"]["operator"] == "stylegan" and checkpoint["meta"]["format"] == 2
    arch = checkpoint["meta"]["architecture"]
    assert (arch["resolution"], arch["num_classes"], arch["img_channels"]) == (16, len(CLASSES), 3)
    # A config whose preset would build another network (as after a preset-table change) is not read.
    changed = dict(checkpoint["operator"], config={**checkpoint["operator"]["config"], "cmax": 4})
    G = generator_from_state(changed, device=torch.device("cpu"), architecture=StyleGANArchitecture.from_dict(arch))
    expected = torch_sampler(seeds=[5], class_index=1, truncation=1.0)
    got = TorchSampler(G, torch.device("cpu"))(seeds=[5], class_index=1, truncation=1.0)
    assert torch.equal(got, expected)
    old = tmp_path / "old" / "model"
    old.mkdir(parents=True)
    torch.save({key: value for key, value in checkpoint.items() if key != "meta"}, old / "ckpt-000000001.pt")
    result = train(None, tmp_path / "from_old", predict=True, resume=str(old.parent), generate_num=1)
    assert result.images_written == len(CLASSES)
