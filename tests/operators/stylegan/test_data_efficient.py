"""DiffAugment and the LeCam regulariser (issue 22): what each promises, and that a training step uses them."""

from __future__ import annotations

import dataclasses

import torch

from ganfactory.engine.precision import FP32
from ganfactory.nn.diffaugment import color, cutout, diff_augment, translation
from ganfactory.operators.stylegan import loss as losses
from ganfactory.operators.stylegan.hparams import StyleGANTraining
from ganfactory.operators.stylegan.models import preset_for

from .conftest import tiny_config


def test_diffaugment_is_differentiable_and_draws_the_same_transforms_for_the_same_generator_state():
    x = torch.randn(6, 3, 16, 16, requires_grad=True)
    y = diff_augment(x, generator=torch.Generator().manual_seed(3))
    (y * torch.randn_like(y)).sum().backward()
    assert y.shape == x.shape and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    again = diff_augment(x.detach(), generator=torch.Generator().manual_seed(3))
    assert torch.equal(y.detach(), again)  # real and fake batches see the same family of random transforms
    other = diff_augment(x.detach(), generator=torch.Generator().manual_seed(4))
    assert not torch.equal(y.detach(), other)


def test_translation_shifts_by_whole_pixels_with_zero_fill_and_cutout_zeroes_a_quarter_at_most():
    x = torch.arange(1, 1 + 16 * 16, dtype=torch.float32).reshape(1, 1, 16, 16).repeat(32, 1, 1, 1)
    y = translation(x, generator=torch.Generator().manual_seed(0))
    for image in y:
        kept = image[image != 0]
        # Every kept pixel is a source pixel of a rigid shift: consecutive kept rows step by 16.
        assert kept.numel() >= (16 - 2) ** 2 and torch.all(torch.isin(kept, x[0]))
    assert any(not torch.equal(image, x[0]) for image in y)
    ones = torch.ones(64, 1, 16, 16)
    z = cutout(ones, generator=torch.Generator().manual_seed(0))
    zeroed = (z == 0).flatten(1).sum(1)
    assert torch.all(zeroed <= 64) and torch.all(zeroed > 0) and z.unique().tolist() == [0.0, 1.0]


def test_color_changes_brightness_and_contrast_per_image():
    x = torch.linspace(-1, 1, 16 * 16).reshape(1, 1, 16, 16).repeat(8, 1, 1, 1)
    y = color(x, generator=torch.Generator().manual_seed(0))
    means, spreads = y.mean(dim=[1, 2, 3]), y.std(dim=[1, 2, 3])
    assert means.std() > 0.05 and spreads.std() > 0.01


def test_lecam_is_zero_at_the_anchors_and_penalises_a_discriminator_that_runs_away():
    real, fake = torch.full((4,), 0.5), torch.full((4,), -0.5)
    # D(real) equal to the fake anchor and D(fake) equal to the real anchor: nothing to pull back.
    assert float(losses.lecam_penalty(real, fake, anchor_real=-0.5, anchor_fake=0.5)) == 0.0
    runaway = losses.lecam_penalty(torch.full((4,), 3.0), torch.full((4,), -3.0), anchor_real=0.5, anchor_fake=-0.5)
    assert abs(float(runaway) - (3.5**2 + 3.5**2)) < 1e-5
    logits = torch.tensor([3.0, 2.0], requires_grad=True)
    losses.lecam_penalty(logits, torch.zeros(2), anchor_real=0.0, anchor_fake=0.0).backward()
    assert torch.all(logits.grad > 0)  # descending it lowers D(real)


def test_lecam_anchors_move_towards_the_outputs_and_survive_a_state_round_trip():
    anchors = losses.LeCamAnchors(decay=0.9)
    anchors.update(torch.ones(4), -torch.ones(4))
    assert (anchors.real, anchors.fake) == (1.0, -1.0)
    anchors.update(torch.full((4,), 3.0), torch.full((4,), -3.0))
    assert abs(anchors.real - 1.2) < 1e-6 and abs(anchors.fake + 1.2) < 1e-6
    copy = losses.LeCamAnchors()
    copy.load_state_dict(anchors.state_dict())
    assert (copy.real, copy.fake, copy.decay) == (anchors.real, anchors.fake, 0.9)


def test_a_training_step_applies_diffaugment_and_lecam_when_asked(monkeypatch, tmp_path):
    import ganfactory.operators.stylegan.training as training
    from ganfactory.data.dataset import ImageFolderData

    config = tiny_config(diffaugment=True, lecam=0.5)
    preset = preset_for(config)
    assert preset.diffaugment and preset.lecam_weight == 0.5
    calls = []
    real_augment = training.diff_augment
    monkeypatch.setattr(training, "diff_augment", lambda x, **kw: calls.append(len(x)) or real_augment(x, **kw))
    images = torch.randint(0, 255, (8, 3, 16, 16), dtype=torch.uint8)
    data = ImageFolderData(images=images, labels=torch.arange(8) % 2, class_names=["a", "b"], conditional=True,
                           files=[])
    t = training.StyleGANTrainable(hparams=StyleGANTraining.from_config(config), preset=preset, data=data,
                                   device=torch.device("cpu"), precision=FP32)
    stats = [t.train_step() for _ in range(3)]
    assert len(calls) >= 3 * 3  # G's fakes, D's fakes and D's reals every step
    assert all("loss/D_lecam" in s for s in stats) and t.lecam.real is not None
    assert t.state_dict()["lecam"]["real"] == t.lecam.real


def test_the_class_mismatch_term_scores_real_images_under_wrong_labels(monkeypatch):
    import ganfactory.operators.stylegan.training as training
    from ganfactory.data.dataset import ImageFolderData

    config = tiny_config(class_mismatch=1.0)
    images = torch.randint(0, 255, (8, 3, 16, 16), dtype=torch.uint8)
    data = ImageFolderData(images=images, labels=torch.arange(8) % 2, class_names=["a", "b"], conditional=True,
                           files=[])
    t = training.StyleGANTrainable(hparams=StyleGANTraining.from_config(config), preset=preset_for(config),
                                   data=data, device=torch.device("cpu"), precision=FP32)
    c = torch.tensor([0, 1, 0, 1])
    assert torch.all(t._wrong_labels(c) != c)
    img = torch.randn(4, 3, 16, 16)
    right, wrong = t.D.forward_with_other_labels(img, c, 1 - c)
    assert torch.allclose(right, t.D(img, c), atol=1e-5) and torch.allclose(wrong, t.D(img, 1 - c), atol=1e-5)
    assert losses.class_mismatch_loss(torch.full((4, 1), -20.0)) < 1e-6  # wrong pairs already called fake
    stats = t.train_step()
    assert "loss/D_mismatch" in stats


def test_the_small_preset_trains_the_class_head_with_mismatched_labels_and_the_paper_presets_do_not():
    from ganfactory.operators.stylegan.presets import resolve_preset

    assert resolve_preset("small", 32).class_mismatch_weight == 3.0
    paper = ("auto", "stylegan2", "paper256", "cifar")
    assert all(resolve_preset(name, 32).class_mismatch_weight == 0.0 for name in paper)
    assert preset_for(tiny_config(class_mismatch=0)).class_mismatch_weight == 0.0


def test_the_small_preset_uses_lecam_and_leaves_diffaugment_as_an_option():
    from ganfactory.operators.stylegan.presets import resolve_preset

    small, paper = resolve_preset("small", 32), resolve_preset("stylegan2", 32)
    assert (small.lecam_weight, small.diffaugment) == (0.1, False)
    assert (paper.lecam_weight, paper.diffaugment) == (0.0, False)


def test_the_dual_projection_scores_every_class_with_the_projection_head_and_trains_d_and_g_on_them():
    import ganfactory.operators.stylegan.training as training
    from ganfactory.data.dataset import ImageFolderData

    config = tiny_config(dual_projection=1.0, class_mismatch=1.0)
    images = torch.randint(0, 255, (8, 3, 16, 16), dtype=torch.uint8)
    data = ImageFolderData(images=images, labels=torch.arange(8) % 2, class_names=["a", "b"], conditional=True,
                           files=[])
    t = training.StyleGANTrainable(hparams=StyleGANTraining.from_config(config), preset=preset_for(config),
                                   data=data, device=torch.device("cpu"), precision=FP32)
    img, c = torch.randn(4, 3, 16, 16), torch.tensor([0, 1, 1, 0])
    logits, scores = t.D.forward_with_class_scores(img, c)
    assert scores.shape == (4, 2)
    # the score of class k is D's projection logit for (img, k): the classifier and the projection are one head
    assert torch.allclose(logits, t.D(img, c), atol=1e-5)
    assert torch.allclose(scores[:, :1], t.D(img, torch.zeros(4, dtype=torch.long)), atol=1e-5)
    assert torch.allclose(scores[:, 1:], t.D(img, torch.ones(4, dtype=torch.long)), atol=1e-5)
    confident = torch.tensor([[20.0, -20.0], [-20.0, 20.0]])
    assert losses.dual_projection_loss(confident, torch.tensor([0, 1])) < 1e-6
    assert losses.dual_projection_loss(confident, torch.tensor([1, 0])) > 30
    d_before = [p.detach().clone() for p in t.D.mapping.parameters()]
    stats = {}
    for _ in range(2):
        stats.update(t.train_step())
    assert {"loss/G_class", "loss/D_class", "loss/D_mismatch"} <= set(stats)
    assert any(not torch.equal(a, b) for a, b in zip(d_before, t.D.mapping.parameters()))


def test_noise_above_the_noise_resolution_stays_out_of_training_and_so_out_of_generation():
    import ganfactory.operators.stylegan.training as training
    from ganfactory.data.dataset import ImageFolderData

    config = tiny_config()
    preset = dataclasses.replace(preset_for(config), noise_max_resolution=8)
    data = ImageFolderData(images=torch.randint(0, 255, (8, 3, 16, 16), dtype=torch.uint8),
                           labels=torch.zeros(8, dtype=torch.long), class_names=["a"], conditional=False, files=[])
    t = training.StyleGANTrainable(hparams=StyleGANTraining.from_config(config), preset=preset, data=data,
                                   device=torch.device("cpu"), precision=FP32)
    for _ in range(3):
        t.train_step()
    strengths = {name: float(p) for name, p in t.G.named_parameters() if name.endswith("noise_strength")}
    top = {name: s for name, s in strengths.items() if "blocks.2." in name}  # blocks 4, 8, 16 px
    assert top and all(s == 0.0 for s in top.values()), strengths
    assert any(s != 0.0 for name, s in strengths.items() if name not in top), strengths
    ws = t.G.mapping(torch.randn(2, t.G.z_dim), None)
    assert torch.equal(t.G.synthesis(ws, noise_mode="const"), t.G.synthesis(ws, noise_mode="const",
                                                                             noise_max_resolution=8))
