"""StyleGAN: shapes, mapping depth, style mixing, truncation, noise, EMA, lazy R1 and the w average."""

import pytest
import torch
import torch.nn.functional as F

from gankit.errors import GankitError
from gankit.models.stylegan.model import StyleGAN, StyleGANConfig
from gankit.models.stylegan.networks import ModulatedConv2d, layer_resolutions, minibatch_stddev
from gankit.nn.blocks import EqualLinear

TINY = dict(latent_dim=8, w_dim=8, mapping_depth=3, g_width=4, d_width=4, max_width=8)


def tiny(shape=(1, 16, 16), **changes):
    torch.manual_seed(0)
    model = StyleGAN(StyleGANConfig(**{**TINY, **changes}), shape)
    model.optimizers = model.configure_optimizers()
    return model


def real_batch(n=4, shape=(1, 16, 16)):
    return (torch.rand(n, *shape) * 2 - 1,)


@pytest.mark.parametrize("style_op", ["adain", "modulated"])
@pytest.mark.parametrize("shape, layers", [((1, 16, 16), 6), ((3, 32, 32), 8), ((3, 8, 8), 4)])
def test_shapes_and_layer_count(shape, layers, style_op):
    model = tiny(shape, style_op=style_op)
    assert model.num_layers == layers == len(layer_resolutions(shape[1]))
    z = torch.randn(5, 8)
    assert model.generator(z)[0].shape == (5, *shape)
    assert model.discriminator(torch.zeros(5, *shape)).shape == (5,)
    samples = model.sample(5, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (5, *shape) and samples.abs().max() <= 1


def test_layer_resolutions_follow_the_paper():
    assert layer_resolutions(32) == [4, 4, 8, 8, 16, 16, 32, 32]


@pytest.mark.parametrize("shape", [(2,), (1, 28, 28), (1, 16, 8)])
def test_refuses_data_it_cannot_generate(shape):
    with pytest.raises(GankitError):
        tiny(shape)


@pytest.mark.parametrize("depth", [1, 8])
def test_mapping_depth_and_width(depth):
    model = tiny(mapping_depth=depth, w_dim=12)
    layers = [m for m in model.generator.mapping.modules() if isinstance(m, EqualLinear)]
    assert len(layers) == depth
    assert layers[0].weight.shape == (12, 8)
    assert model.generator.mapping(torch.randn(3, 8)).shape == (3, 12)


def test_mapping_normalises_z():
    mapping = tiny().generator.mapping
    z = torch.randn(4, 8)
    assert torch.allclose(mapping(z), mapping(z * 7.5), atol=1e-5)


def test_style_mixing_switches_w_at_the_crossover():
    model = tiny(style_mixing_prob=1.0)
    torch.manual_seed(1)
    ws, w = model.generator.styles(*model.mixing_latents(4))  # [4, L, w_dim]
    same_as_first = [torch.equal(ws[:, i], w) for i in range(model.num_layers)]
    crossover = same_as_first.index(False)
    assert 1 <= crossover < model.num_layers
    assert all(same_as_first[:crossover]) and not any(same_as_first[crossover:])
    assert all(torch.equal(ws[:, i], ws[:, crossover]) for i in range(crossover, model.num_layers))


def test_no_style_mixing_at_probability_zero():
    model = tiny(style_mixing_prob=0.0)
    for _ in range(5):
        ws, w = model.generator.styles(*model.mixing_latents(3))
        assert all(torch.equal(ws[:, i], w) for i in range(model.num_layers))


@pytest.mark.parametrize("style_op", ["adain", "modulated"])
def test_each_layer_reads_its_own_w(style_op):
    model = tiny(style_op=style_op)
    with torch.no_grad():
        for p in model.generator_ema.parameters():
            p.add_(torch.randn_like(p) * 0.1)  # an untrained AdaIN barely depends on w
    ws = model.styles(torch.randn(1, 8))
    noise = model.make_noise(1, torch.Generator().manual_seed(0))
    base = model.synthesize(ws, noise)
    for layer in range(model.num_layers):
        changed = ws.clone()
        changed[:, layer] += 1.0
        assert not torch.allclose(model.synthesize(changed, noise), base)


def test_truncation_moves_w_towards_the_mean():
    model = tiny()
    model.w_avg.copy_(torch.randn(8))
    z = torch.randn(6, 8)
    full = model.styles(z)
    assert torch.allclose(model.styles(z, truncation=0.0), model.w_avg.expand_as(full))
    half = model.styles(z, truncation=0.5)
    assert torch.allclose(half - model.w_avg, 0.5 * (full - model.w_avg), atol=1e-6)
    cut = model.styles(z, truncation=0.0, cutoff=2)
    assert torch.allclose(cut[:, :2], model.w_avg.expand(6, 2, 8)) and torch.equal(cut[:, 2:], full[:, 2:])


def test_truncation_zero_gives_the_mean_image():
    model = tiny()
    images = model.sample(4, generator=torch.Generator().manual_seed(0), truncation=0.0)
    noise = model.make_noise(4, shared=True)
    same = model.synthesize(model.styles(torch.randn(4, 8), truncation=0.0), noise)
    assert torch.allclose(same[0], same[3]) and images.shape == same.shape


def test_bad_truncation_arguments_are_errors():
    model = tiny()
    with pytest.raises(GankitError, match="cutoff"):
        model.sample(2, cutoff=0)
    with pytest.raises(GankitError, match="cutoff"):
        model.sample(2, cutoff=model.num_layers + 1)


def test_noise_changes_only_what_its_strength_allows():
    model = tiny()
    ws = model.styles(torch.randn(2, 8))
    draw = lambda seed: model.synthesize(ws, generator=torch.Generator().manual_seed(seed))  # noqa: E731
    assert torch.equal(draw(0), draw(1))  # B starts at zero: noise has no effect yet
    with torch.no_grad():
        for layer in model.generator_ema.synthesis.layers:
            layer.noise_strength.fill_(0.5)
    assert not torch.allclose(draw(0), draw(1))
    assert torch.equal(draw(2), draw(2))


@pytest.mark.parametrize("style_op", ["adain", "modulated"])
def test_train_step_updates_everything_and_tracks_w_avg(style_op):
    model = tiny(style_op=style_op)
    g_before = [p.clone() for p in model.generator.parameters()]
    d_before = [p.clone() for p in model.discriminator.parameters()]
    logs = model.train_step(real_batch(), step=0)
    assert {"loss_d", "loss_g", "r1", "d_real", "d_fake"} <= set(logs)
    assert all(not torch.equal(a, b) for a, b in zip(g_before[-2:], list(model.generator.parameters())[-2:]))
    assert any(not torch.equal(a, b) for a, b in zip(d_before, model.discriminator.parameters()))
    assert model.w_avg.abs().sum() > 0 and int(model.images_seen) == 4
    assert all(p.grad is None for p in model.generator_ema.parameters())
    assert all(p.requires_grad for p in model.discriminator.parameters())


def test_modulated_conv_is_a_per_example_demodulated_convolution():
    torch.manual_seed(0)
    conv = ModulatedConv2d(3, 5, w_dim=4)
    x, w = torch.randn(2, 3, 6, 6), torch.randn(2, 4)
    out = conv(x, w)
    for i in range(2):  # each example alone, by the paper's formulas
        weight = conv.weight * conv.weight_scale * conv.affine(w[i : i + 1])[0][None, :, None, None]
        weight = weight / weight.pow(2).sum(dim=(1, 2, 3), keepdim=True).add(1e-8).sqrt()
        assert torch.allclose(out[i : i + 1], F.conv2d(x[i : i + 1], weight, padding=1), atol=1e-5)
    # demodulation: unit-variance inputs give unit-variance outputs, whatever the style's scale
    big = conv(torch.randn(64, 3, 16, 16), torch.randn(64, 4) * 10)
    assert 0.8 < big.std().item() < 1.2


def test_lazy_r1_cadence_and_adam_correction():
    model = tiny((1, 8, 8), r1_every=3)
    logs = [model.train_step(real_batch(2, (1, 8, 8)), step) for step in range(7)]
    assert [i for i, row in enumerate(logs) if "r1" in row] == [0, 3, 6]
    # R1 is its own update of D (StyleGAN2's lazy regularisation), which the rescaled Adam assumes
    d_updates = {int(state["step"]) for state in model.optimizers["d"].state.values()}
    assert d_updates == {7 + 3}  # every parameter of D, its last bias included (DDP needs them all)
    ratio = 3 / 4
    group = model.optimizers["d"].param_groups[0]
    assert group["lr"] == pytest.approx(0.002 * ratio)
    assert group["betas"] == pytest.approx((0.0, 0.99**ratio))
    assert model.optimizers["g"].param_groups[0]["lr"] == 0.002
    no_r1 = tiny((1, 8, 8), r1_gamma=0.0)
    assert not any("r1" in no_r1.train_step(real_batch(2, (1, 8, 8)), step) for step in range(2))


def test_ema_follows_the_half_life_in_images():
    model = tiny(ema_kimg=0.1, ema_rampup=None)
    ema = [p.clone() for p in model.generator_ema.parameters()]
    with torch.no_grad():
        for p in model.generator.parameters():
            p.add_(1.0)
    beta = model.update_ema(batch_size=100)
    assert beta == pytest.approx(0.5)  # 100 images = one half-life of 0.1 kimg
    for old, new, live in zip(ema, model.generator_ema.parameters(), model.generator.parameters()):
        assert torch.allclose(new, old + 0.5 * (live - old), atol=1e-6)


def test_ema_rampup_shortens_the_half_life_early():
    model = tiny(ema_kimg=10.0, ema_rampup=0.05)
    model.images_seen.fill_(1000)  # half-life min(10000, 50) images
    assert model.update_ema(batch_size=50) == pytest.approx(0.5)


def test_state_dict_holds_the_ema_generator_and_w_avg():
    model = tiny((1, 8, 8))
    model.train_step(real_batch(2, (1, 8, 8)), 0)
    state = model.state_dict()
    assert "w_avg" in state and "images_seen" in state
    assert any(k.startswith("generator_ema.") for k in state)
    clone = tiny((1, 8, 8))
    clone.load_state_dict(state)
    z = torch.randn(3, 8)
    assert torch.equal(clone.styles(z, truncation=0.7), model.styles(z, truncation=0.7))


@pytest.mark.parametrize("n", [1, 3, 4, 6, 8])
def test_minibatch_stddev_any_batch_size(n):
    x = torch.randn(n, 5, 4, 4)
    out = minibatch_stddev(x, 4)
    assert out.shape == (n, 6, 4, 4) and torch.equal(out[:, :5], x)


def test_the_constant_input_starts_at_ones_or_at_stylegan2s_normal_draw():
    assert torch.equal(tiny().generator.synthesis.const, torch.ones_like(tiny().generator.synthesis.const))
    const = tiny(const_init="normal").generator.synthesis.const
    assert const.std().item() > 0.5 and abs(const.mean().item()) < 0.5
    ema = tiny(const_init="normal")
    assert torch.equal(ema.generator_ema.synthesis.const, ema.generator.synthesis.const)  # the EMA starts as G
