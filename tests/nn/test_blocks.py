"""Equalised-learning-rate layers, pixel norm and the blur filter."""

import math

import pytest
import torch

from gankit.nn.blocks import Blur2d, EqualConv2d, EqualLinear, pixel_norm


def test_equal_linear_keeps_unit_scale_and_scales_at_run_time():
    torch.manual_seed(0)
    layer = EqualLinear(256, 512)
    assert layer.weight.std().item() == pytest.approx(1.0, rel=0.05)  # stored as N(0, 1)
    out = layer(torch.randn(1024, 256))
    assert out.std().item() == pytest.approx(1.0, rel=0.05)  # scaled by 1 / sqrt(fan_in)


def test_equal_linear_lr_multiplier_slows_learning_but_not_the_forward_pass():
    torch.manual_seed(0)
    slow = EqualLinear(64, 64, bias_init=1.0, lr_multiplier=0.01)
    assert slow.weight.std().item() == pytest.approx(100.0, rel=0.1)
    out = slow(torch.zeros(2, 64))
    assert torch.allclose(out, torch.ones(2, 64))  # the bias is stored / 0.01 and read * 0.01
    # Adam moves the stored weight by ~lr whatever its scale, so the effective weight moves 0.01x as fast.
    assert slow.weight_scale == pytest.approx(0.01 / math.sqrt(64))


def test_equal_conv_same_padding_and_gain():
    torch.manual_seed(0)
    conv = EqualConv2d(32, 16, 3, gain=math.sqrt(2))
    out = conv(torch.randn(64, 32, 8, 8))
    assert out.shape == (64, 16, 8, 8)
    assert out[:, :, 1:-1, 1:-1].std().item() == pytest.approx(math.sqrt(2), rel=0.08)


def test_pixel_norm_gives_unit_rms_per_vector():
    x = torch.randn(5, 7) * 3
    assert torch.allclose(pixel_norm(x).pow(2).mean(dim=1), torch.ones(5), atol=1e-4)


def test_blur_keeps_constants_inside_and_is_not_a_weight():
    blur = Blur2d(3)
    out = blur(torch.full((1, 3, 6, 6), 2.0))
    assert torch.allclose(out[:, :, 1:-1, 1:-1], torch.full((1, 3, 4, 4), 2.0))
    assert list(blur.parameters()) == [] and "kernel" not in blur.state_dict()
