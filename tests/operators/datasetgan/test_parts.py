"""The interpreter's parts: on-the-fly features equal interpolate-then-index, the stacked ensemble equals
separate members, JS uncertainty on hand-computed probabilities, class-balanced sampling, deterministic sample."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors import safe_open

from ganfactory.engine.checkpoint import file_sha256, resolve_checkpoint_path
from ganfactory.engine.precision import resolve_device
from ganfactory.operators.datasetgan.ensemble import PixelEnsemble
from ganfactory.operators.datasetgan.features import feature_channels, pixel_features, synthesize_with_maps
from ganfactory.operators.datasetgan.generator import load_generator
from ganfactory.operators.datasetgan.layout import annotation_folder
from ganfactory.operators.datasetgan.pixels import PixelIndex
from ganfactory.operators.datasetgan.sample import sample_for_annotation
from ganfactory.operators.datasetgan.uncertainty import ensemble_mode, image_score, js_uncertainty

from .conftest import sample_options


def test_pixel_features_equal_bilinear_upsampling():
    torch.manual_seed(0)
    maps = [torch.randn(2, s, s, c) for s, c in ((4, 3), (8, 5), (16, 2))]
    image, ys, xs = torch.tensor([0, 1, 1, 0]), torch.tensor([0, 15, 7, 3]), torch.tensor([15, 0, 8, 12])
    got = pixel_features(maps, image=image, ys=ys, xs=xs, resolution=16)
    full = [F.interpolate(m.permute(0, 3, 1, 2), size=(16, 16), mode="bilinear", align_corners=False) for m in maps]
    want = torch.cat([f.permute(0, 2, 3, 1)[image, ys, xs] for f in full], dim=1)
    torch.testing.assert_close(got, want)


def test_synthesis_unchanged_and_maps_per_layer(sampled):
    source = load_generator(annotation_folder(sampled).generator_path, device=torch.device("cpu"))
    ws = source.G.mapping(torch.randn(2, source.G.z_dim), None)
    images, maps = synthesize_with_maps(source.G, ws)
    torch.testing.assert_close(images, source.G.synthesis(ws, noise_mode="const"))
    assert sum(m.shape[-1] for m in maps) == feature_channels(source.G)
    assert [m.shape[1] for m in maps] == [4, 8, 8, 16, 16]


def test_stacked_members_equal_separate_mlps():
    torch.manual_seed(0)
    ensemble = PixelEnsemble(in_features=6, num_classes=3, members=2).train()
    x = torch.randn(2, 10, 6)
    logits = ensemble(x)
    for m in range(2):
        bn1, bn2 = torch.nn.BatchNorm1d(128), torch.nn.BatchNorm1d(32)
        for bn, mine in ((bn1, ensemble.bn1), (bn2, ensemble.bn2)):
            bn.weight.data, bn.bias.data = mine.weight.data[m].clone(), mine.bias.data[m].clone()
        h = bn1(torch.relu(x[m] @ ensemble.fc1.weight[m] + ensemble.fc1.bias[m]))
        h = bn2(torch.relu(h @ ensemble.fc2.weight[m] + ensemble.fc2.bias[m]))
        torch.testing.assert_close(logits[m], h @ ensemble.fc3.weight[m] + ensemble.fc3.bias[m])
        torch.testing.assert_close(ensemble.bn1.running_var[m], bn1.running_var)
    ensemble.eval()  # shared pixels [P, C] give each member the same answer as its own copy
    torch.testing.assert_close(ensemble(x[0]), ensemble(x[0].expand(2, -1, -1)))


def test_js_uncertainty_hand_computed():
    # Two members, two pixels. Pixel 0: both say [1, 0] -> 0. Pixel 1: [1, 0] and [0, 1] ->
    # H([.5, .5]) - (0 + 0) / 2 = ln 2. Third pixel: [.5,.5] and [.9,.1] -> H(.7,.3) - (ln2 + H(.9,.1))/2.
    probs = torch.tensor([[[1.0, 0.0], [1.0, 0.0], [0.5, 0.5]], [[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]]])
    h = lambda *p: -sum(q * math.log(q) for q in p)  # noqa: E731
    want = torch.tensor([0.0, math.log(2), h(0.7, 0.3) - (math.log(2) + h(0.9, 0.1)) / 2])
    torch.testing.assert_close(js_uncertainty(probs), want)
    assert image_score(torch.arange(20.0)) == (19 + 18) / 2  # top 10% of 20 pixels: two
    votes = torch.tensor([[[5.0, 0, 0]], [[0, 5.0, 0]], [[0, 5.0, 0]]])
    assert ensemble_mode(votes).tolist() == [1]


def test_class_balanced_sampling():
    masks = torch.zeros(2, 8, 8, dtype=torch.uint8)
    masks[1, 0, 0] = 1  # one pixel of class 1 among 127 of class 0
    image, ys, xs = PixelIndex.of(masks).sample(4000, torch.Generator().manual_seed(0))
    share = masks[image, ys, xs].float().mean()
    assert 0.45 < share < 0.55


def test_sample_is_deterministic_and_records_the_checkpoint(stylegan_run, sampled, tmp_path):
    again = tmp_path / "again"
    sample_for_annotation(stylegan_run, again, sample_options(num=4, seed=3), device=resolve_device("cpu"))
    first, second = annotation_folder(sampled), annotation_folder(again)
    for path in sorted(first.images_dir.glob("*.png")):
        assert path.read_bytes() == (second.images_dir / path.name).read_bytes()
    assert len(list(first.images_dir.glob("*.png"))) == 4
    with safe_open(str(first.latents_path), framework="pt") as handle:
        assert handle.metadata()["checkpoint_sha256"] == file_sha256(resolve_checkpoint_path(stylegan_run))
        assert handle.get_tensor("ws").shape[0] == 4
    image = np.asarray(Image.open(first.images_dir / "0000.png"))
    assert image.shape == (16, 16, 3)
