"""Feature precision: `auto` picks bf16 only where it is native, bf16 features move FID by less than its interval,
bf16 rows never mix with fp32 rows in the cache, and the prefetching loader keeps every row with its image.

On a CPU without native bf16 the bf16 path is emulated (slower, same arithmetic): the tests force it by saying the
CPU has it, which checks the code path's results, not its speed.
"""

import numpy as np
import pytest
import torch

from conftest import digit_images, write_digits
from ganfactory.data.discovery import discover_images
from ganfactory.errors import InputError
from ganfactory.metrics import features as features_module
from ganfactory.metrics import loaders
from ganfactory.metrics.features import folder_features
from ganfactory.metrics.fid import fid_estimate, frechet_distance
from ganfactory.metrics.loaders import load_feature_network


@pytest.fixture
def native_bf16(monkeypatch):
    monkeypatch.setattr(loaders, "cpu_supports_bf16", lambda: True)


def test_auto_is_channels_last_fp32_without_native_bf16(tiny_torchscript, monkeypatch):
    monkeypatch.setenv("GANFACTORY_CPU_BF16", "0")  # act as an AVX2-only CPU
    network = load_feature_network(tiny_torchscript, backend="auto", input_size=32)
    assert (network.identity.backend, network.identity.precision) == ("torch-channels-last", "fp32")
    assert network.identity.as_dict()["precision"] == "fp32"
    assert loaders.resolve_backend("auto", inception=True) == "onnxruntime"  # the shipped Inception: fastest fp32
    with pytest.raises(InputError, match="no native bf16"):
        load_feature_network(tiny_torchscript, backend="torch-bf16", input_size=32)


def test_auto_is_bf16_where_native(tiny_torchscript, tiny_onnx, native_bf16):
    network = load_feature_network(tiny_torchscript, backend="auto", input_size=32)
    assert (network.identity.backend, network.identity.precision) == ("torch-bf16", "bf16")
    assert loaders.resolve_backend("auto", inception=True) == "torch-bf16"
    onnx = load_feature_network(tiny_onnx, backend="auto")  # an ONNX file runs on onnxruntime, in fp32
    assert (onnx.identity.backend, onnx.identity.precision) == ("onnxruntime", "fp32")


def _digits(first: int, count: int, *, blur: bool = False) -> list[torch.Tensor]:
    images = torch.from_numpy(digit_images()[0][first:first + count]).unsqueeze(1)
    if blur:  # a generated set with a visible flaw, so FID is well above zero
        images = torch.nn.functional.avg_pool2d(images.float(), 3, stride=1, padding=1).round().to(torch.uint8)
    return list(images)


def test_bf16_features_move_fid_by_less_than_its_interval(tiny_torchscript, native_bf16):
    real, generated = _digits(0, 120), _digits(400, 120, blur=True)
    fp32 = load_feature_network(tiny_torchscript, backend="torch", input_size=32)
    bf16 = load_feature_network(tiny_torchscript, backend="torch-bf16", input_size=32)
    real32, gen32 = fp32.extract(real), fp32.extract(generated)
    real16, gen16 = bf16.extract(real), bf16.extract(generated)
    assert not np.array_equal(gen32, gen16)  # bf16 really ran
    assert np.linalg.norm(gen16 - gen32) / np.linalg.norm(gen32) < 0.02  # bf16 keeps ~3 significant digits
    estimate = fid_estimate(real32, gen32, rounds=50)
    moved = abs(frechet_distance(real16, gen16) - estimate.value)
    assert estimate.value > 0 and moved < (estimate.high - estimate.low) / 2, (moved, estimate)


def test_bf16_rows_get_their_own_cache(tmp_path, tiny_torchscript, private_cache, native_bf16):
    data = write_digits(tmp_path / "digits", per_class=4)
    classes = discover_images(data).classes
    fp32 = folder_features(data, classes, network=load_feature_network(tiny_torchscript, input_size=32))
    bf16 = folder_features(data, classes, network=load_feature_network(tiny_torchscript, backend="torch-bf16",
                                                                       input_size=32))
    assert bf16.reused == 0 and bf16.network.precision == "bf16" and len(list(private_cache.glob("*.npz"))) == 2
    channels_last = folder_features(data, classes, network=load_feature_network(
        tiny_torchscript, backend="torch-channels-last", input_size=32))
    assert channels_last.reused == 12  # the fp32 paths share their rows (they agree to ~1e-5)
    np.testing.assert_allclose(channels_last.features, fp32.features, rtol=1e-4, atol=1e-5)


def test_prefetched_chunks_keep_each_row_with_its_image(tmp_path, tiny_torchscript, monkeypatch):
    monkeypatch.setattr(features_module, "CHUNK", 4)
    monkeypatch.setattr(features_module, "PREFETCH", 3)
    data = write_digits(tmp_path / "digits", per_class=7)
    (data / "digit1" / "broken.png").write_bytes(b"not a png")  # skipped with a warning, in the middle of a chunk
    classes = discover_images(data).classes
    network = load_feature_network(tiny_torchscript, input_size=32, batch_size=4)
    got = folder_features(data, classes, network=network)
    assert len(got) == 21 and all(path.name != "broken.png" for path in got.files)
    direct = network.extract([torch.from_numpy(np.array(_gray(path))).unsqueeze(0) for path in got.files])
    np.testing.assert_allclose(got.features, direct, rtol=1e-5, atol=1e-6)


def _gray(path):
    from PIL import Image

    with Image.open(path) as image:
        return image.convert("L")
