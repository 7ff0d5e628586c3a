"""StyleGAN2 generator/discriminator: shapes, conditioning, truncation, noise, precision, layouts."""

from __future__ import annotations

import dataclasses
import io

import pytest
import torch

from ganfactory.operators.stylegan.discriminator import Discriminator
from ganfactory.operators.stylegan.networks import Generator
from ganfactory.operators.stylegan.presets import (
    build_discriminator,
    build_generator,
    resolve_preset,
)

TINY = dict(channel_base=256, channel_max=32)


def make_g(*, num_classes: int = 0, img_channels: int = 3, resolution: int = 16, **kw) -> Generator:
    torch.manual_seed(0)
    return Generator(z_dim=32, w_dim=32, num_classes=num_classes, resolution=resolution,
                     img_channels=img_channels, mapping_layers=2, **TINY, **kw)  # fmt: skip


def make_d(*, num_classes: int = 0, img_channels: int = 3, resolution: int = 16, **kw) -> Discriminator:
    torch.manual_seed(1)
    return Discriminator(num_classes=num_classes, resolution=resolution, img_channels=img_channels,
                         mapping_layers=2, **TINY, **kw)  # fmt: skip


def labels(num_classes: int, batch: int) -> torch.Tensor | None:
    return torch.arange(batch) % num_classes if num_classes else None


@pytest.mark.parametrize("num_classes", [0, 3])
@pytest.mark.parametrize("img_channels", [1, 3])
def test_forward_shapes(num_classes: int, img_channels: int) -> None:
    G, D = make_g(num_classes=num_classes, img_channels=img_channels), make_d(
        num_classes=num_classes, img_channels=img_channels
    )
    z, c = torch.randn(4, 32), labels(num_classes, 4)
    ws = G.mapping(z, c)
    img = G.synthesis(ws)
    logits = D(img, c)
    assert G.num_ws == 2 * 4 - 2 and ws.shape == (4, G.num_ws, 32)
    assert img.shape == (4, img_channels, 16, 16) and img.dtype == torch.float32
    assert logits.shape == (4, 1) and torch.isfinite(logits).all()


def test_resolution_8_and_orig_architecture() -> None:
    G, D = make_g(resolution=8), make_d(resolution=8, architecture="orig")
    assert D(G(torch.randn(2, 32))).shape == (2, 1)


def test_labels_are_checked() -> None:
    G, Gc = make_g(), make_g(num_classes=3)
    with pytest.raises(ValueError, match="unconditional"):
        G(torch.randn(2, 32), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="conditional"):
        Gc(torch.randn(2, 32))
    with pytest.raises(ValueError, match="noise_mode"):
        G(torch.randn(2, 32), noise_mode="fixed")


def test_one_hot_labels_match_integer_labels() -> None:
    G = make_g(num_classes=3)
    z, c = torch.randn(3, 32), torch.tensor([2, 0, 1])
    one_hot = torch.nn.functional.one_hot(c, 3).float()
    torch.testing.assert_close(G.mapping(z, c), G.mapping(z, one_hot))


def test_truncation_psi_zero_gives_w_avg_and_cutoff_limits_it() -> None:
    G = make_g()
    G.mapping(torch.randn(16, 32), update_emas=True)  # w_avg moves away from zero
    assert G.mapping.w_avg.abs().sum() > 0
    ws = G.mapping(torch.randn(4, 32), truncation_psi=0.0)
    torch.testing.assert_close(ws, G.mapping.w_avg.expand_as(ws))
    cut = G.mapping(torch.randn(4, 32), truncation_psi=0.0, truncation_cutoff=2)
    torch.testing.assert_close(cut[:, :2], G.mapping.w_avg.expand(4, 2, 32))
    assert not torch.allclose(cut[:, 2:], G.mapping.w_avg.expand(4, G.num_ws - 2, 32))


def test_w_avg_only_moves_with_update_emas() -> None:
    G = make_g()
    G.mapping(torch.randn(8, 32))
    assert G.mapping.w_avg.abs().sum() == 0
    G(torch.randn(8, 32), update_emas=True)
    assert G.mapping.w_avg.abs().sum() > 0


def test_const_noise_is_deterministic_and_random_noise_is_not() -> None:
    G = make_g()
    for module in G.modules():
        if hasattr(module, "noise_strength"):
            module.noise_strength.data.fill_(0.5)  # zero at init, which would hide the noise
    z = torch.randn(2, 32)
    torch.testing.assert_close(G(z, noise_mode="const"), G(z, noise_mode="const"), rtol=0, atol=0)
    assert not torch.allclose(G(z, noise_mode="random"), G(z, noise_mode="random"))
    assert not torch.allclose(G(z, noise_mode="none"), G(z, noise_mode="const"))


def test_generator_is_mapping_then_synthesis() -> None:
    G = make_g(num_classes=3)
    z, c = torch.randn(3, 32), labels(3, 3)
    ws = G.mapping(z, c, 0.7, None)
    torch.testing.assert_close(
        G(z, c, truncation_psi=0.7, noise_mode="const"), G.synthesis(ws, noise_mode="const")
    )


def test_bf16_autocast_is_close_to_fp32() -> None:
    G, D = make_g(num_classes=3), make_d(num_classes=3)
    z, c = torch.randn(4, 32), labels(3, 4)
    img32 = G(z, c, noise_mode="const")
    logits32 = D(img32, c)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        img16 = G(z, c, noise_mode="const")
        logits16 = D(img16, c)
    assert img16.dtype == torch.float32 and logits16.dtype == torch.float32
    assert (img16 - img32).abs().max() < 0.05 * img32.abs().max()
    assert (logits16 - logits32).abs().max() < 0.05 * logits32.abs().max() + 0.02


def test_bf16_backward_gives_finite_gradients() -> None:
    G, D = make_g(), make_d()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = D(G(torch.randn(4, 32))).sum()
    loss.backward()
    grads = [p.grad for p in list(G.parameters()) + list(D.parameters()) if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_memory_layout_does_not_change_the_result() -> None:
    z = torch.randn(3, 32)
    G_cl, G_nchw = make_g(channels_last=True), make_g(channels_last=False)
    D_cl, D_nchw = make_d(channels_last=True), make_d(channels_last=False)
    img = G_cl(z, noise_mode="const")
    torch.testing.assert_close(img, G_nchw(z, noise_mode="const"), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(D_cl(img), D_nchw(img), rtol=1e-4, atol=1e-4)


def test_state_dict_is_contiguous_and_round_trips() -> None:
    from safetensors.torch import load, save

    G = make_g(num_classes=2)
    state = G.state_dict()
    assert all(t.is_contiguous() for t in state.values())
    restored = make_g(num_classes=2)
    for p in restored.parameters():
        p.data.zero_()
    restored.load_state_dict(load(save(state)))
    z, c = torch.randn(2, 32), labels(2, 2)
    torch.testing.assert_close(restored(z, c, noise_mode="const"), G(z, c, noise_mode="const"))
    buffer = io.BytesIO()
    torch.save(make_d().state_dict(), buffer)
    buffer.seek(0)
    make_d().load_state_dict(torch.load(buffer, weights_only=True))


def test_minibatch_std_handles_batch_not_divisible_by_group() -> None:
    D = make_d(mbstd_group_size=4)
    assert D(torch.randn(6, 3, 16, 16)).shape == (6, 1)
    assert D(torch.randn(1, 3, 16, 16)).shape == (1, 1)


def test_preset_builders_make_matching_networks() -> None:
    preset = resolve_preset("small", 16, 4, None)
    G = build_generator(preset, num_classes=2, img_channels=1)
    D = build_discriminator(preset, num_classes=2, img_channels=1)
    c = torch.tensor([0, 1])
    assert preset.conditioning == "concat"
    assert D(G(torch.randn(2, preset.z_dim), c), c).shape == (2, 1)
    # Transitional conditioning: D scores each image unconditionally and by its class projection.
    transitional = dataclasses.replace(preset, conditioning="transitional")
    G, D = (build(transitional, num_classes=2, img_channels=1) for build in (build_generator, build_discriminator))
    assert D(G(torch.randn(2, preset.z_dim), c), c).shape == (2, 2)


def test_bad_resolution_is_rejected() -> None:
    with pytest.raises(ValueError, match="power of two"):
        make_g(resolution=24)


def test_presets_follow_the_paper() -> None:
    auto = resolve_preset("auto", 256, None, None)
    assert (auto.batch_size, auto.mbstd_group_size, auto.mapping_layers, auto.channel_base) == (16, 4, 2, 16384)
    assert auto.gamma == pytest.approx(0.0002 * 256**2 / 16) and auto.ema_kimg == pytest.approx(5.0)
    assert resolve_preset("auto", 64, None, None).batch_size == 32
    paper = resolve_preset("paper256", 256, 8, None)
    assert (paper.batch_size, paper.mbstd_group_size, paper.gamma, paper.ema_kimg) == (8, 8, 1.0, 20.0)
    assert paper.mapping_layers == 8 and paper.style_mixing_prob == 0.9 and paper.pl_weight == 2.0
    cifar = resolve_preset("cifar", 32, None, None)
    assert cifar.d_architecture == "orig" and cifar.style_mixing_prob == 0 and cifar.pl_weight == 0
    assert resolve_preset("stylegan2", 64, 4, 3.0).gamma == 3.0
    assert resolve_preset("stylegan2", 64, 4, None).mbstd_group_size == 4
    small = resolve_preset("small", 32, None, None)
    assert small.channel_max <= 256 and small.mapping_layers == 2 and small.z_dim <= 256


def test_unknown_preset_and_bad_values_are_config_errors() -> None:
    from ganfactory.errors import ConfigError

    with pytest.raises(ConfigError, match="cfg"):
        resolve_preset("paper512x", 256, None, None)
    with pytest.raises(ConfigError, match="power of two"):
        resolve_preset("auto", 100, None, None)


def test_generator_exports_to_onnx_with_dynamic_batch(tmp_path) -> None:  # noqa: ANN001
    ort = pytest.importorskip("onnxruntime")

    class ConstNoise(torch.nn.Module):
        def __init__(self, G: Generator) -> None:
            super().__init__()
            self.G = G

        def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            return self.G(z, c, truncation_psi=0.7, noise_mode="const")

    model = ConstNoise(make_g(num_classes=3, resolution=8)).eval()
    z, c = torch.randn(2, 32), torch.tensor([0, 2])
    batch = torch.export.Dim("batch", min=1, max=1024)
    program = torch.onnx.export(model, (z, c), dynamo=True, verbose=False,
                                dynamic_shapes={"z": {0: batch}, "c": {0: batch}})  # fmt: skip
    program.save(str(tmp_path / "g.onnx"))
    session = ort.InferenceSession(str(tmp_path / "g.onnx"))
    names = [i.name for i in session.get_inputs()]
    z5, c5 = torch.randn(5, 32), torch.tensor([0, 1, 2, 1, 0])
    (out,) = session.run(None, {names[0]: z5.numpy(), names[1]: c5.numpy()})
    torch.testing.assert_close(torch.from_numpy(out), model(z5, c5).detach(), rtol=1e-4, atol=1e-4)


def test_activation_clamp_only_in_reduced_precision() -> None:
    from ganfactory.nn.layers import apply_activation

    x = torch.tensor([-1000.0, -3.0, 5.0, 1000.0])
    assert torch.equal(apply_activation(x, activation="linear", clamp=256.0), x)
    clamped = apply_activation(x.bfloat16(), activation="lrelu", clamp=256.0).float()
    torch.testing.assert_close(clamped, torch.tensor([-200.0, -0.6, 5.0, 256.0]), rtol=1e-2, atol=0)


def test_bias_act_matches_the_unfused_formula() -> None:
    from ganfactory.nn.layers import bias_act

    x, b = torch.randn(2, 5, 3, 3), torch.randn(5)
    expected = torch.nn.functional.leaky_relu(x + b[None, :, None, None], 0.2) * (2**0.5) * 0.5
    torch.testing.assert_close(bias_act(x, b, activation="lrelu", gain=0.5), expected)
    torch.testing.assert_close(bias_act(x, None), x)
