"""DiffAugment: shapes, exact integer shifts, the erased square, gradients, policies."""

import pytest
import torch

from gankit.errors import GankitError
from gankit.nn.augment import CUTOUT_RATIO, DiffAugment, color, cutout, parse_policy, translation


def test_translation_moves_whole_pixels_and_fills_with_zero():
    torch.manual_seed(0)
    x = torch.arange(1, 1 + 2 * 16 * 16, dtype=torch.float32).view(2, 1, 16, 16)
    y = translation(x)
    for image, moved in zip(x, y):
        # Every moved pixel is an original pixel of the same image or the zero fill, and the
        # kept block is a shifted copy: find the shift from the first kept pixel.
        kept = moved[moved != 0]
        assert torch.isin(kept, image).all()
        shifts = [(dx, dy) for dx in range(-2, 3) for dy in range(-2, 3)
                  if torch.equal(moved, _shift(image, dx, dy))]
        assert len(shifts) == 1


def _shift(image, dx, dy):
    out = torch.zeros_like(image)
    h, w = image.shape[-2:]
    out[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[..., max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def test_cutout_erases_one_square_of_half_the_size_at_most():
    torch.manual_seed(0)
    x = torch.ones(64, 1, 16, 16)
    erased = (cutout(x) == 0).float().sum(dim=(1, 2, 3))  # [N]
    side = int(16 * CUTOUT_RATIO)
    assert erased.max() == side * side  # fully inside the image at least once in 64 draws
    assert (erased > 0).all()


def test_color_changes_brightness_and_contrast_but_not_shape():
    torch.manual_seed(0)
    x = torch.rand(8, 3, 8, 8) * 2 - 1
    y = color(x)
    assert y.shape == x.shape and not torch.allclose(x, y)


def test_every_policy_keeps_gradients_flowing_to_the_input():
    x = torch.rand(4, 1, 16, 16, requires_grad=True)
    DiffAugment("color,translation,cutout")(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_an_empty_policy_is_the_identity():
    augment = DiffAugment("")
    x = torch.rand(2, 1, 8, 8)
    assert augment(x) is x  # nothing copied on the training step's path


def test_an_unknown_transform_names_the_valid_ones():
    with pytest.raises(GankitError, match="unknown augmentation 'flip'; valid: color, translation, cutout"):
        parse_policy("translation, flip")
