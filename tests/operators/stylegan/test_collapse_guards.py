"""Guards against the mode collapse of issue 14: the mechanisms that keep samples varied and of their class work,
a short real-data run keeps G_ema's samples distinct, and every run reports a diversity figure per tick."""

from __future__ import annotations

import json
import math

import pytest
import torch

from ganfactory.data.dataset import ImageFolderData
from ganfactory.engine.precision import FP32
from ganfactory.metrics.diversity import pairwise_diversity, relative_diversity, summarize
from ganfactory.nn.layers import MinibatchStd
from ganfactory.operators.stylegan import loss as losses
from ganfactory.operators.stylegan.discriminator import Discriminator
from ganfactory.operators.stylegan.hparams import StyleGANTraining
from ganfactory.operators.stylegan.models import preset_for
from ganfactory.operators.stylegan.networks import Generator
from ganfactory.operators.stylegan.presets import resolve_preset
from ganfactory.operators.stylegan.training import StyleGANTrainable

from .conftest import tiny_config


def test_minibatch_std_separates_a_collapsed_group_from_a_varied_one():
    torch.manual_seed(0)
    layer = MinibatchStd(group_size=4)
    varied = torch.randn(8, 6, 4, 4)
    # Groups are strided (sample n is in group n % 2): make group 0 = samples 0, 2, 4, 6 one repeated image.
    mixed = varied.clone()
    mixed[0::2] = varied[0]
    stat = layer(mixed)[:, -1]  # the appended channel, [8, 4, 4], constant per sample
    assert stat.shape == (8, 4, 4) and torch.equal(stat, stat[:, :1, :1].expand_as(stat))
    collapsed_group, varied_group = stat[0::2, 0, 0], stat[1::2, 0, 0]
    assert collapsed_group.max() < 1e-3  # the spread of identical images is 0 (+ the 1e-8 under the root)
    assert varied_group.min() > 0.5  # unit-Gaussian features: a spread near 1
    assert torch.equal(layer(mixed)[:, :-1], mixed)  # the features themselves pass unchanged


def test_minibatch_std_in_the_discriminator_scores_a_collapsed_batch_differently():
    torch.manual_seed(0)
    D = Discriminator(resolution=8, img_channels=1, channel_base=64, channel_max=16, mbstd_group_size=4)
    varied = torch.randn(4, 1, 8, 8)
    collapsed = varied[:1].expand(4, -1, -1, -1).contiguous()
    # Sample 0 is the same image in both batches: only its batch-mates differ, which D sees through mbstd alone.
    assert not torch.allclose(D(varied)[0], D(collapsed)[0], atol=1e-4)
    D_no_mbstd = Discriminator(resolution=8, img_channels=1, channel_base=64, channel_max=16, mbstd_channels=0)
    assert torch.allclose(D_no_mbstd(varied)[0], D_no_mbstd(collapsed)[0], atol=1e-6)


def _tiny_pair() -> tuple[Generator, Discriminator]:
    torch.manual_seed(0)
    G = Generator(z_dim=16, w_dim=16, num_classes=3, resolution=8, img_channels=1, channel_base=64, channel_max=16,
                  mapping_layers=2)
    D = Discriminator(num_classes=3, resolution=8, img_channels=1, channel_base=64, channel_max=16, mapping_layers=2)
    return G, D


def test_gradients_reach_both_class_embeddings_and_the_class_changes_the_image():
    G, D = _tiny_pair()
    z, c = torch.randn(6, 16), torch.tensor([0, 1, 0, 1, 0, 1])  # class 2 absent
    losses.g_nonsaturating_loss(D(G(z, c), c)).backward()
    grad = G.mapping.embed.weight.grad
    assert grad is not None and grad[:2].abs().min(dim=1).values.gt(0).all()  # the rows used get gradient
    assert torch.equal(grad[2], torch.zeros_like(grad[2]))  # the unused class gets none
    D.zero_grad()
    real = torch.randn(6, 1, 8, 8)
    losses.d_logistic_loss(D(real, c), D(G(z, c).detach(), c)).backward()
    assert D.mapping.embed.weight.grad[:2].abs().sum() > 0
    with torch.no_grad():  # same z, another class: another image
        a, b = G(z[:1], torch.tensor([0]), noise_mode="const"), G(z[:1], torch.tensor([1]), noise_mode="const")
    assert (a - b).abs().mean() > 1e-3


def test_relative_diversity_is_one_for_real_data_and_zero_for_a_collapsed_generator():
    torch.manual_seed(0)
    real = torch.rand(20, 1, 8, 8) * 2 - 1
    labels = torch.arange(2).repeat(10)
    assert summarize(relative_diversity(real, labels, real, labels, num_classes=2)) == (1.0, 1.0)
    collapsed = real[:1].expand(20, -1, -1, -1)
    assert summarize(relative_diversity(collapsed, labels, real, labels, num_classes=2))[1] < 1e-3
    assert math.isnan(pairwise_diversity(real[:1]))
    uint8 = ((real + 1) * 127.5).round().to(torch.uint8)
    assert abs(pairwise_diversity(uint8) - pairwise_diversity(real)) < 0.01


def _digits_16px(per_class: int) -> ImageFolderData:
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    images = torch.from_numpy(digits.images).float()[:, None] * (255 / 16)
    images = torch.nn.functional.pad(torch.nn.functional.interpolate(images, size=(14, 14), mode="bilinear"), [1] * 4)
    labels = torch.from_numpy(digits.target)
    index = torch.cat([torch.nonzero(labels == k)[:per_class, 0] for k in range(4)])
    return ImageFolderData(images=images[index].round().clamp(0, 255).to(torch.uint8), labels=labels[index],
                           class_names=[str(k) for k in range(4)], conditional=True, files=[])


def test_a_short_real_digit_run_keeps_g_ema_samples_distinct():
    # Real digits (4 classes, 16 px), the tiny 'small' network, 60 steps: G_ema's samples of every class must stay
    # at least half as varied as the real digits of that class, as the tick health indicator reports it.
    data = _digits_16px(per_class=20)
    config = tiny_config(batch_size=8, total_kimg=0.48)
    torch.manual_seed(0)
    trainable = StyleGANTrainable(hparams=StyleGANTraining.from_config(config), preset=preset_for(config), data=data,
                                  device=torch.device("cpu"), precision=FP32)
    for _ in range(60):
        trainable.train_step()
    health = trainable.tick_health()
    assert health["diversity/min"] >= 0.5, health
    assert health["diversity/mean"] <= 3.0, health  # and not just noise: an untrained G scores far above 1


def test_every_tick_records_the_diversity_in_stats_and_progress(trained):
    stats = [json.loads(line) for line in (trained / "logs" / "stats.jsonl").read_text().splitlines()]
    assert all({"diversity/mean", "diversity/min"} <= line.keys() for line in stats)
    assert all(0 < line["diversity/min"] <= line["diversity/mean"] for line in stats)
    progress = json.loads((trained / "logs" / "progress.json").read_text())
    assert progress["health"]["diversity/min"] == pytest.approx(stats[-1]["diversity/min"], abs=1e-4)


def test_ada_speed_defaults_to_the_small_presets_and_follows_ada_kimg():
    data = ImageFolderData(images=torch.randint(0, 256, (8, 1, 16, 16), dtype=torch.uint8),
                           labels=torch.zeros(8, dtype=torch.long), class_names=["a"], conditional=False, files=[])

    def controller(**overrides):
        config = tiny_config(**overrides)
        return StyleGANTrainable(hparams=StyleGANTraining.from_config(config), preset=preset_for(config), data=data,
                                 device=torch.device("cpu"), precision=FP32).ada

    assert controller().ada_kimg == 20.0
    assert controller(ada_kimg=2.5).ada_kimg == 2.5
    assert controller(cfg="auto", cbase=256, cmax=16).ada_kimg == 500.0  # the paper's presets keep 500


def test_cfg_auto_means_the_small_preset_on_a_cpu_and_the_papers_auto_elsewhere():
    config = tiny_config(cfg="auto")
    on_cpu, on_gpu, as_written = (preset_for(config, device_type="cpu"), preset_for(config, device_type="cuda"),
                                  preset_for(config))
    assert on_cpu.name == "small" and on_cpu.ada_kimg == 20.0
    assert on_gpu.name == as_written.name == "auto" and on_gpu.ada_kimg == 500.0
    explicit = tiny_config(cfg="cifar")
    assert preset_for(explicit, device_type="cpu").name == "cifar"  # a named preset is taken as written


def test_conditional_batches_give_each_minibatch_std_group_one_class():
    # Mixed-class groups hide a generator that makes one image per class from D's minibatch std (issue 14).
    data = _digits_16px(per_class=6)
    config = tiny_config(batch_size=8, class_grouped_mbstd=True)
    trainable = StyleGANTrainable(hparams=StyleGANTraining.from_config(config), preset=preset_for(config), data=data,
                                  device=torch.device("cpu"), precision=FP32)
    groups = trainable._mbstd_groups  # group size 4 in a batch of 8: sample n is in group n % 2
    assert groups == 2
    seen_classes = set()
    for _ in range(20):
        _, fake_labels = trainable._fake_inputs(8)
        real, real_labels = trainable._real_batch()
        for labels in (fake_labels, real_labels):
            assert all(len(set(labels[g::groups].tolist())) == 1 for g in range(groups))
        assert real.shape == (8, 1, 16, 16)
        seen_classes |= set(real_labels.tolist())
        index = trainable._real_index()
        assert torch.equal(data.labels[index].reshape(-1, groups)[0], data.labels[index][:groups])
    assert seen_classes == {0, 1, 2, 3}  # the groups' classes still follow the data
    mixed_config = tiny_config(batch_size=8, class_grouped_mbstd=False)
    mixed = StyleGANTrainable(hparams=StyleGANTraining.from_config(mixed_config), preset=preset_for(config),
                              data=data, device=torch.device("cpu"), precision=FP32)
    assert mixed._mbstd_groups is None


def test_the_mode_seeking_term_is_small_for_varied_pairs_and_large_for_copies():
    torch.manual_seed(0)
    z = torch.randn(8, 16)
    varied = torch.rand(8, 1, 8, 8) * 2 - 1
    copies = varied[:1].expand(8, -1, -1, -1).clone().requires_grad_(True)
    assert losses.mode_seeking_penalty(varied, z) < 5 < 1000 < losses.mode_seeking_penalty(copies, z)
    nearly = (varied[:1] + 0.01 * torch.randn(8, 1, 8, 8)).requires_grad_(True)
    losses.mode_seeking_penalty(nearly, z).backward()
    # Descending the penalty moves each paired image away from its partner.
    before = (nearly[:4] - nearly[4:]).abs().mean()
    after = ((nearly - 0.01 * nearly.grad.sign())[:4] - (nearly - 0.01 * nearly.grad.sign())[4:]).abs().mean()
    assert after > before


def test_mode_seeking_pairs_share_a_class_and_the_generator_step_records_it():
    data = _digits_16px(per_class=6)
    config = tiny_config(batch_size=8, mode_seeking=1.0)
    trainable = StyleGANTrainable(hparams=StyleGANTraining.from_config(config), preset=preset_for(config), data=data,
                                  device=torch.device("cpu"), precision=FP32)
    assert trainable.preset.mode_seeking_weight == 1.0 and preset_for(tiny_config()).mode_seeking_weight == 0.1
    assert resolve_preset("auto", 32).mode_seeking_weight == 0.0  # the paper's presets leave it off
    seen = []
    mapping = trainable.G.mapping.forward

    def recording(z, c=None, *args, **kwargs):
        seen.append(c.clone())
        return mapping(z, c, *args, **kwargs)

    trainable.G.mapping.forward = recording
    stats = trainable._g_main()
    assert "loss/G_ms" in stats and stats["loss/G_ms"] > 0
    assert torch.equal(seen[0][:4], seen[0][4:])
    off = tiny_config(batch_size=8, mode_seeking=0)
    assert "loss/G_ms" not in StyleGANTrainable(hparams=StyleGANTraining.from_config(off), preset=preset_for(off),
                                                data=data, device=torch.device("cpu"), precision=FP32)._g_main()


def test_transitional_conditioning_starts_class_blind_and_ends_conditional():
    from ganfactory.operators.stylegan.presets import transition_weight

    data = _digits_16px(per_class=6)
    config = tiny_config(batch_size=8, conditioning="transitional", t_start_kimg=0.016, t_end_kimg=0.032)
    trainable = StyleGANTrainable(hparams=StyleGANTraining.from_config(config), preset=preset_for(config), data=data,
                                  device=torch.device("cpu"), precision=FP32)
    preset = trainable.preset
    assert [transition_weight(preset=preset, kimg=k) for k in (0, 0.016, 0.024, 0.032, 1)] == [0, 0, 0.5, 1, 1]
    z = torch.randn(2, trainable.G.z_dim)

    def class_effect() -> float:
        with torch.no_grad():
            a = trainable.G_ema(z, torch.tensor([0, 0]), noise_mode="const")
            b = trainable.G_ema(z, torch.tensor([1, 1]), noise_mode="const")
        return float((a - b).abs().max())

    trainable.train_step()
    assert class_effect() == 0.0  # before t_start: G ignores the class
    assert trainable.D(torch.zeros(2, 1, 16, 16), torch.tensor([0, 1])).shape == (2, 2)  # unconditional + projection
    while trainable.done < 0.04:
        trainable.train_step()
    assert trainable.G_ema.mapping.transition.item() == 1.0 and class_effect() > 1e-3
    embed_grad = trainable.G.mapping.embed.weight.grad
    assert embed_grad is not None and embed_grad.abs().sum() > 0  # the class is learned once it counts


def test_exploding_losses_are_flagged():
    from ganfactory.metrics.stability import StabilityMonitor

    monitor = StabilityMonitor(patience=2)
    assert monitor.observe_tick({"loss/D": 1.2, "loss/G": 2.0}, where="at 1 kimg") == []
    assert monitor.observe_tick({"loss/D": 5e4, "loss/G": 3e5}, where="at 2 kimg") == []
    reasons = monitor.observe_tick({"loss/D": 7e3, "loss/G": 1e6}, where="at 3 kimg")
    assert len(reasons) == 1 and "exploded" in reasons[0] and "lower --lr" in reasons[0]


def test_a_generator_that_ignores_the_class_raises_a_training_alert_without_stopping_the_run():
    # Issue 22: each class varied, every class the same image for a seed. With its class embedding zeroed, G_ema
    # draws one latent identically in every class; the tick's alerts (stats.jsonl, progress.json, the console)
    # must say so once, and --stop-on-divergence must not treat it as divergence.
    data = _digits_16px(per_class=10)
    config = tiny_config(stop_on_divergence=True)
    torch.manual_seed(0)
    trainable = StyleGANTrainable(hparams=StyleGANTraining.from_config(config), preset=preset_for(config), data=data,
                                  device=torch.device("cpu"), precision=FP32)
    assert trainable.tick_health()["diversity/classes"] > 0.5 and trainable.tick_alerts() == []
    with torch.no_grad():
        for parameter in trainable.G_ema.mapping.embed.parameters():
            parameter.zero_()
    health = trainable.tick_health()
    alerts = trainable.tick_alerts()
    assert health["diversity/classes"] < 1e-3, health
    assert len(alerts) == 1 and alerts[0].startswith("Classes produce the same image"), alerts
    assert not trainable.stopped_early
    trainable.tick_health()
    assert trainable.tick_alerts() == []  # raised once while it lasts
