"""CycleGAN networks: shapes, parameter counts, layer equivalences, bf16 / channels_last behaviour."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganfactory.operators.cyclegan.networks import (
    InstanceNorm2d,
    PatchDiscriminator,
    ReflectionPad2d,
    ResnetGenerator,
    check_generator_size,
    default_n_blocks,
    default_n_layers,
    init_weights,
    set_requires_grad,
)

CL = torch.channels_last


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def tiny_generator(cin: int = 3, cout: int = 3) -> ResnetGenerator:
    torch.manual_seed(0)
    return init_weights(ResnetGenerator(cin, cout, base_channels=8, n_blocks=2))


def test_full_size_parameter_counts_match_the_paper():
    # The reference's resnet_9blocks / 70x70 PatchGAN: 11.378 M and 2.765 M parameters.
    assert n_params(ResnetGenerator(3, 3)) == 11_378_179
    assert n_params(ResnetGenerator(3, 3, n_blocks=6)) == 7_837_699
    assert n_params(PatchDiscriminator(3)) == 2_764_737


@pytest.mark.parametrize("cin,cout,height,width", [(3, 3, 16, 16), (1, 3, 16, 32), (3, 1, 32, 16), (1, 1, 24, 40)])
def test_generator_keeps_the_image_size_for_any_shape(cin, cout, height, width):
    g = tiny_generator(cin, cout)
    y = g(torch.randn(2, cin, height, width))
    assert y.shape == (2, cout, height, width)
    assert y.abs().max() <= 1.0


def test_discriminator_returns_a_patch_map():
    d = init_weights(PatchDiscriminator(3, base_channels=8))
    assert d(torch.randn(2, 3, 32, 48)).shape == (2, 1, 2, 4)
    small = PatchDiscriminator(1, base_channels=8, n_layers=default_n_layers(16, 16))
    assert small(torch.randn(1, 1, 16, 16)).shape == (1, 1, 2, 2)


def test_size_rules():
    assert default_n_blocks(256, 256) == 9 and default_n_blocks(128, 512) == 6
    assert [default_n_layers(s, s) for s in (256, 32, 24, 16, 8)] == [3, 3, 3, 2, 1]
    check_generator_size(16, 32)
    with pytest.raises(ValueError, match="multiple of 4"):
        check_generator_size(30, 32)
    with pytest.raises(ValueError):
        check_generator_size(4, 32)


def manual_instance_norm(x: torch.Tensor) -> torch.Tensor:
    var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
    return (x - mean) / torch.sqrt(var + 1e-5)


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("layout", [torch.contiguous_format, CL])
@pytest.mark.parametrize("grad_layout", [torch.contiguous_format, CL])
def test_instance_norm_matches_the_formula_forward_and_backward(batch, layout, grad_layout):
    x = (torch.randn(batch, 5, 6, 7, dtype=torch.float64) * 3 + 2).contiguous(memory_format=layout)
    x_ours, x_ref = x.clone().requires_grad_(), x.clone().requires_grad_()
    grad = torch.randn(batch, 5, 6, 7, dtype=torch.float64).contiguous(memory_format=grad_layout)
    y_ours, y_ref = InstanceNorm2d()(x_ours), manual_instance_norm(x_ref)
    y_ours.backward(grad)
    y_ref.backward(grad)
    torch.testing.assert_close(y_ours, y_ref)
    torch.testing.assert_close(x_ours.grad, x_ref.grad)
    # Keeping the layout is the point of the module: no NCHW copy between channels_last convolutions.
    assert y_ours.is_contiguous(memory_format=layout)


def test_channels_last_generator_gradients_equal_nchw_at_batch_one():
    # nn.InstanceNorm2d gets this wrong on CPU (torch 2.13: ~30% relative gradient error at batch 1).
    torch.manual_seed(0)
    g = init_weights(ResnetGenerator(3, 3, base_channels=4, n_blocks=1)).double()
    g_cl = copy.deepcopy(g).to(memory_format=CL)
    x = torch.rand(1, 3, 16, 16, dtype=torch.float64)
    g(x).square().mean().backward()
    g_cl(x.contiguous(memory_format=CL)).square().mean().backward()
    grads = torch.cat([p.grad.flatten() for p in g.parameters()])
    grads_cl = torch.cat([p.grad.flatten() for p in g_cl.parameters()])
    assert ((grads_cl - grads).norm() / grads.norm()).item() < 1e-10


def test_layers_keep_bf16_and_normalise_in_float32_under_autocast():
    x = torch.randn(2, 4, 8, 8).to(torch.bfloat16).contiguous(memory_format=CL)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        padded = ReflectionPad2d(2)(x)
        normed = InstanceNorm2d()(x + 100)  # a large mean that bf16 statistics would blur
    assert padded.dtype == torch.bfloat16 and padded.is_contiguous(memory_format=CL)
    torch.testing.assert_close(padded, nn.ReflectionPad2d(2)(x))
    assert normed.dtype == torch.bfloat16
    expected = nn.InstanceNorm2d(4)((x + 100).float())
    assert (normed.float() - expected).abs().max() < 0.05


def test_bf16_autocast_and_channels_last_stay_close_to_fp32():
    g = tiny_generator()
    d = init_weights(PatchDiscriminator(3, base_channels=8))
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        ref_g, ref_d = g(x), d(x)
        g_cl, d_cl, x_cl = g.to(memory_format=CL), d.to(memory_format=CL), x.contiguous(memory_format=CL)
        torch.testing.assert_close(g_cl(x_cl), ref_g, atol=1e-5, rtol=1e-4)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out_g, out_d = g_cl(x_cl).float(), d_cl(x_cl).float()
    assert (out_g - ref_g).abs().max() < 0.06 and (out_g - ref_g).abs().mean() < 0.01
    assert (out_d - ref_d).abs().max() < 0.05 * ref_d.abs().max()


def test_bf16_channels_last_gradients_point_the_same_way_as_fp32():
    g = tiny_generator()
    g_fast = copy.deepcopy(g).to(memory_format=CL)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    g(x).square().mean().backward()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = g_fast(x.contiguous(memory_format=CL))
    out.float().square().mean().backward()
    ref = torch.cat([p.grad.flatten() for p in g.parameters()])
    fast = torch.cat([p.grad.flatten() for p in g_fast.parameters()])
    assert F.cosine_similarity(ref, fast, dim=0) > 0.99


def test_init_weights_and_set_requires_grad():
    torch.manual_seed(0)
    d = init_weights(PatchDiscriminator(3), std=0.02)
    conv = d.model[5]
    assert abs(conv.weight.std().item() - 0.02) < 1e-3 and conv.bias.abs().max() == 0
    set_requires_grad([d], False)
    assert not any(p.requires_grad for p in d.parameters())
    set_requires_grad(d, True)
    assert all(p.requires_grad for p in d.parameters())


@pytest.mark.filterwarnings("ignore::FutureWarning")  # emitted inside torch.export's pytree handling
def test_generator_exports_to_onnx_with_dynamic_batch_height_and_width(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    g = tiny_generator().eval()
    dims = {0: torch.export.Dim("batch", min=1, max=64), 2: 4 * torch.export.Dim("h", min=2, max=512),
            3: 4 * torch.export.Dim("w", min=2, max=512)}
    path = tmp_path / "g.onnx"
    torch.onnx.export(g, (torch.rand(1, 3, 16, 16),), path, dynamo=True, input_names=["x"], dynamic_shapes={"x": dims},
                      verbose=False)
    session = ort.InferenceSession(str(path))
    x = torch.rand(2, 3, 16, 32)
    with torch.no_grad():
        expected = g(x).numpy()
    out = session.run(None, {"x": x.numpy()})[0]
    assert out.shape == expected.shape and abs(out - expected).max() < 1e-4
