"""CycleGAN: network shapes, the image pool, the schedule, augmentation, the update and exact resume."""

import pytest
import torch

from gankit.errors import GankitError
from gankit.models.cyclegan.augment import resize_crop_flip
from gankit.models.cyclegan.model import PREVIEW_EXAMPLES, CycleGAN, CycleGANConfig
from gankit.models.cyclegan.networks import ImagePool, PatchDiscriminator, ResnetGenerator, receptive_field

TINY = dict(g_width=4, d_width=4, blocks=1, d_layers=2, pool_size=3)


def tiny(shape=(1, 16, 16), **extra):
    torch.manual_seed(0)
    model = CycleGAN(CycleGANConfig(**{**TINY, **extra}), shape)
    model.optimizers = model.configure_optimizers()
    return model


def test_networks_keep_the_image_shape_and_score_patches():
    x = torch.randn(2, 3, 64, 64)
    assert ResnetGenerator(3, width=4, blocks=2)(x).shape == (2, 3, 64, 64)
    # 64 -> 32 -> 16 -> 8 after three strided layers, then two stride-1 4x4 convolutions: 7, 6.
    assert PatchDiscriminator(3, width=4, layers=3)(x).shape == (2, 1, 6, 6)
    assert receptive_field(3) == 70  # the paper's 70x70 PatchGAN


def test_blocks_follow_the_paper_by_image_size():
    def blocks(size):
        model = CycleGAN(CycleGANConfig(g_width=2, d_width=2), (1, size, size))
        return sum(type(m).__name__ == "ResidualBlock" for m in model.generator_ab.modules())

    assert (blocks(128), blocks(256)) == (6, 9)


@pytest.mark.parametrize(
    "shape, config, message",
    [((2,), {}, "translates images"), ((1, 18, 18), {}, "multiples of 4"), ((1, 16, 16), {"d_layers": 3}, "use <= 2")],
)
def test_bad_shapes_are_one_line_errors(shape, config, message):
    with pytest.raises(GankitError, match=message):
        CycleGAN(CycleGANConfig(**{**TINY, **config}), shape)


def test_image_pool_fills_then_swaps_half_and_is_deterministic():
    pool = ImagePool(4, (1, 2, 2))
    rng = torch.Generator().manual_seed(0)
    first = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 2, 2)
    assert torch.equal(pool.query(first, rng), first)  # while filling, D sees the new images
    assert int(pool.count) == 4 and torch.equal(pool.images, first)
    new = (100 + torch.arange(200.0)).view(200, 1, 1, 1).expand(200, 1, 2, 2)
    out = pool.query(new, rng)
    from_history = (out != new).flatten(1).all(1)
    assert 70 < from_history.sum() < 130  # about half come from the history
    assert int(pool.count) == 4
    replay = ImagePool(4, (1, 2, 2))
    rng = torch.Generator().manual_seed(0)
    replay.query(first, rng)
    assert torch.equal(replay.query(new, rng), out)  # the same generator state, the same choices
    assert {"images", "count"} <= set(pool.state_dict())


def test_pool_of_size_zero_passes_images_through():
    x = torch.randn(3, 1, 4, 4)
    assert torch.equal(ImagePool(0, (1, 4, 4)).query(x, torch.Generator()), x)


def test_learning_rate_is_constant_then_decays_linearly_to_zero():
    model = tiny(constant_steps=10, decay_steps=20, lr=1e-3)
    assert [model.learning_rate(s) for s in (0, 10, 20, 30, 40)] == pytest.approx([1e-3, 1e-3, 5e-4, 0.0, 0.0])


def test_augmentation_is_off_at_scale_one_without_flip_and_flips_exactly():
    x = torch.randn(6, 2, 8, 8)
    g = torch.Generator().manual_seed(0)
    assert torch.equal(resize_crop_flip(x, 1.0, False, g), x)
    flipped = resize_crop_flip(x, 1.0, True, g)
    for original, out in zip(x, flipped):
        assert torch.allclose(out, original, atol=1e-5) or torch.allclose(out, original.flip(-1), atol=1e-5)
    cropped = resize_crop_flip(x, 1.5, False, g)
    assert cropped.shape == x.shape and not torch.allclose(cropped, x)


def test_train_step_updates_all_four_networks_and_logs_every_term():
    model = tiny()
    before = {name: [p.clone() for p in getattr(model, name).parameters()]
              for name in ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b")}
    logs = model.train_step((torch.rand(2, 1, 16, 16) * 2 - 1, torch.rand(3, 1, 16, 16) * 2 - 1), 0)
    for name, params in before.items():
        assert any(not torch.equal(a, b) for a, b in zip(params, getattr(model, name).parameters())), name
    assert {"loss_g", "loss_d_a", "loss_d_b", "loss_cycle_a", "loss_cycle_b", "loss_identity_a", "lr"} <= set(logs)
    assert "loss_identity_a" not in tiny(identity_weight=0).train_step((torch.zeros(1, 1, 16, 16),) * 2, 0)


def test_cycle_loss_falls():
    model = tiny(g_width=8, crop_scale=1.0, flip=False, identity_weight=0, lr=1e-3)
    g = torch.Generator().manual_seed(1)
    # Smooth images (upsampled 4x4 noise): something a one-block generator can learn to carry through.
    a, b = (torch.nn.functional.interpolate(torch.rand(4, 1, 4, 4, generator=g) * 2 - 1, size=16, mode="bilinear")
            for _ in range(2))
    cycle = [model.train_step((a, b), s)["loss_cycle_a"] for s in range(30)]
    assert sum(cycle[-5:]) / 5 < 0.5 * sum(cycle[:5]) / 5  # about 0.44 -> 0.13


def test_resume_from_state_dicts_continues_exactly():
    batches = [(torch.rand(2, 1, 16, 16) * 2 - 1, torch.rand(2, 1, 16, 16) * 2 - 1) for _ in range(6)]
    straight = tiny(constant_steps=2, decay_steps=4)
    for s, batch in enumerate(batches):
        straight.train_step(batch, s)
    first = tiny(constant_steps=2, decay_steps=4)
    for s, batch in enumerate(batches[:3]):
        first.train_step(batch, s)
    second = tiny(constant_steps=2, decay_steps=4)
    second.load_state_dict(first.state_dict())
    for key, opt in second.optimizers.items():
        opt.load_state_dict(first.optimizers[key].state_dict())
    for s, batch in enumerate(batches[3:], start=3):
        second.train_step(batch, s)
    for (name, p), q in zip(straight.state_dict().items(), second.state_dict().values()):
        assert torch.equal(p, q), name


def test_translate_preview_and_cycle_shapes():
    model = tiny()
    for s in range(4):  # batch 2: the six preview examples are kept from the first three steps
        model.train_step((torch.rand(2, 1, 16, 16), torch.rand(2, 1, 16, 16)), s)
    assert int(model.preview_count) == PREVIEW_EXAMPLES
    assert model.preview(64, torch.Generator()).shape == (6 * PREVIEW_EXAMPLES, 1, 16, 16)
    # One row per kind, labelled on the grid: inputs, translations, translations back.
    assert model.preview_layout(6 * PREVIEW_EXAMPLES) == {
        "nrow": PREVIEW_EXAMPLES, "rows": ["A", "G(A)", "F(G(A))", "B", "F(B)", "G(F(B))"]}
    translated, reconstructed = model.cycle(torch.zeros(3, 1, 32, 32), "b2a")  # fully convolutional
    assert translated.shape == reconstructed.shape == (3, 1, 32, 32)
    assert translated.abs().max() <= 1
    with pytest.raises(GankitError, match="unknown direction"):
        model.translate(torch.zeros(1, 1, 16, 16), "a2c")
    with pytest.raises(GankitError, match="expects images"):
        model.translate(torch.zeros(1, 3, 16, 16), "a2b")
