"""Tiled scoring (gankit.detection): stitching without seams, bounded batches, every detector
through the one code path, and the case tiling exists for: a defect under 2% of a large image that
a detector trained on patches finds and locates and one trained on the squeezed image misses."""

import pytest
import torch
import torch.nn.functional as F

from gankit.data.images import resize_batch
from gankit.data.patches import random_crops
from gankit.errors import GankitError
from gankit.metrics.anomaly import image_metrics
from gankit.models import get_model_class
from gankit.models.detector import AnomalyOutput
from gankit.detection import Tiler, final_scores, hann_window, image_scores, smoothed

DETECTORS = ["anogan", "egbad", "ganomaly", "fanogan"]


def echo(batch):
    """A stand-in scorer whose map is the tile itself: stitching must give the image back."""
    return AnomalyOutput(scores=batch.flatten(1).amax(1), maps=batch[:, :1], reconstructions=batch)


@pytest.mark.parametrize("size, stride, shape", [(16, 8, (37, 50)), (16, 16, (32, 32)), (8, 3, (20, 9)), (8, None, (8, 8))])
def test_stitching_gives_the_image_back_with_no_seams(size, stride, shape):
    x = torch.rand(3, 2, *shape)
    scores, maps, reconstructions = Tiler(size, stride).score(echo, x, batch_size=5)
    torch.testing.assert_close(maps, x[:, :1])
    torch.testing.assert_close(reconstructions, x)
    torch.testing.assert_close(scores, x.flatten(1).amax(1))  # every pixel lies in some tile


def test_a_constant_tile_map_stitches_to_a_constant():
    flat = lambda b: AnomalyOutput(torch.zeros(len(b)), torch.ones(len(b), 1, *b.shape[-2:]), None)  # noqa: E731
    _, maps, reconstructions = Tiler(16, 8).score(flat, torch.zeros(1, 1, 45, 61), batch_size=7)
    torch.testing.assert_close(maps, torch.ones(1, 1, 45, 61))
    assert reconstructions is None


def test_hann_windows_half_a_tile_apart_sum_to_one():
    w = hann_window(16)
    quarters = w[:8, :8] + w[8:, :8] + w[:8, 8:] + w[8:, 8:]  # four tiles overlapping one 8 x 8 square
    torch.testing.assert_close(quarters, torch.ones(8, 8), atol=3e-3, rtol=0)


def test_batches_never_exceed_the_batch_size():
    sizes = []

    def counting(batch):
        sizes.append(len(batch))
        return echo(batch)

    tiler = Tiler(8, 4)
    tiler.score(counting, torch.rand(4, 1, 40, 40), batch_size=6)
    assert max(sizes) <= 6
    assert sum(sizes) == 4 * len(tiler.positions(40, 40))


def test_images_smaller_than_a_tile_are_refused():
    with pytest.raises(GankitError, match="smaller than the 16 px tiles"):
        Tiler(16).score(echo, torch.rand(1, 1, 12, 40), batch_size=4)


def test_image_scores():
    maps = torch.arange(100.0).view(1, 1, 10, 10)
    assert image_scores(torch.tensor([7.0]), maps, "detector").item() == 7.0
    assert image_scores(torch.tensor([7.0]), maps, "map_max").item() == 99.0
    assert image_scores(torch.tensor([7.0]), maps, "map_top_k", top_k=0.05).item() == 97.0  # mean of 95..99


def test_no_smoothing_leaves_maps_and_scores_as_they_were():
    maps, scores = torch.rand(3, 1, 10, 12), torch.rand(3)
    for how in ("detector", "map_max", "map_top_k"):
        raw, final = final_scores(scores, maps, how, top_k=0.05)
        assert final is maps and torch.equal(raw, image_scores(scores, maps, how, top_k=0.05))


def test_smoothing_spreads_a_hot_pixel_and_lowers_its_peak():
    maps = torch.zeros(1, 1, 32, 32)
    maps[0, 0, 12, 20] = 1.0
    raw, final = final_scores(torch.zeros(1), maps, "map_max", map_sigma=2.0)
    assert divmod(final.argmax().item(), 32) == (12, 20)  # still where it was
    assert raw.item() == final.max().item() < 0.05  # 1 / (2 pi sigma^2) = 0.04 of the pixel left at the peak
    assert (final[0, 0, 12, 14:27] > 0).all() and final[0, 0, 12, 23] > final[0, 0, 12, 26] > 0  # spread, falling off
    torch.testing.assert_close(final.sum(), torch.tensor(1.0))  # the mass is kept, away from the borders


def test_smoothing_keeps_a_constant_map_and_takes_sigmas_wider_than_the_map():
    flat = torch.full((2, 1, 6, 9), 0.3)
    torch.testing.assert_close(smoothed(flat, 10.0), flat)  # the kernel is cut to fit; still an average
    corner = torch.zeros(1, 1, 6, 9)
    corner[0, 0, 0, 0] = 1.0
    assert smoothed(corner, 1.0).argmax().item() == 0  # reflected at the border: an edge defect stays at the edge


@pytest.mark.parametrize("shape", [(16, 16), (24, 40)], ids=["whole", "tiled"])
def test_score_dataset_smooths_the_full_size_map_before_the_image_score(shape):
    cls = get_model_class("ganomaly")
    settings = dict(latent_dim=4, g_width=4, d_width=4, image_score="map_max", tile_stride=8)
    plain = cls(cls.Config(**settings), (1, 16, 16))
    model = cls(cls.Config(**settings, map_sigma=1.5), (1, 16, 16))
    model.load_state_dict(plain.state_dict())
    x = torch.rand(3, 1, *shape) * 2 - 1
    expected = smoothed(plain.score_dataset(x).maps, 1.5)  # smoothed once stitched, not tile by tile
    out = model.score_dataset(x)
    torch.testing.assert_close(out.maps, expected, rtol=0, atol=0)
    torch.testing.assert_close(out.scores, expected.flatten(1).amax(1), rtol=0, atol=0)
    model.calibrate(x)  # calibration takes the same smoothed scores
    torch.testing.assert_close(model.calibration_scores, out.scores.sort().values, rtol=0, atol=0)


@pytest.mark.parametrize("name", DETECTORS)
def test_every_detector_scores_large_images_by_tiles(name):
    cls = get_model_class(name)
    config = cls.Config(latent_dim=4, g_width=4, d_width=4, image_score="map_top_k", tile_stride=8, score_batch_size=5)
    if name == "anogan":
        config.search_steps = 2
    model = cls(config, (1, 16, 16))
    out = model.score_dataset(torch.rand(2, 1, 24, 40) * 2 - 1)
    assert out.scores.shape == (2,) and out.maps.shape == (2, 1, 24, 40)
    assert out.reconstructions.shape == (2, 1, 24, 40)
    torch.testing.assert_close(out.scores, image_scores(out.scores, out.maps, "map_top_k"), rtol=0, atol=0)


# --- the case tiling exists for --------------------------------------------------------------------
SIZE, PATCH, DEFECT = 128, 32, 12  # the defect covers 144 of 16,384 pixels: 0.9%


def smooth_texture(n: int, generator: torch.Generator) -> torch.Tensor:
    """[n, 1, SIZE, SIZE] slowly varying grey levels with a little pixel noise."""
    low = torch.randn(n, 1, SIZE // 16, SIZE // 16, generator=generator)
    x = F.interpolate(low, size=(SIZE, SIZE), mode="bicubic", align_corners=False) * 0.2
    return (x + 0.02 * torch.randn(n, 1, SIZE, SIZE, generator=generator)).clamp(-1, 1)


def add_defect(x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, list[tuple[int, int]]]:
    """A fine checkerboard in a DEFECT-px square of each image: seen at full resolution, averaged
    away (to grey) when the image is squeezed to PATCH px."""
    x, corners = x.clone(), []
    rows, cols = torch.meshgrid(torch.arange(DEFECT), torch.arange(DEFECT), indexing="ij")
    checker = 0.8 * ((rows + cols) % 2 * 2 - 1)
    for image in x:
        r, c = torch.randint(0, SIZE - DEFECT, (2,), generator=generator).tolist()
        image[0, r : r + DEFECT, c : c + DEFECT] += checker
        corners.append((r, c))
    return x, corners


def train_ganomaly(batches, steps: int):
    cls = get_model_class("ganomaly")
    config = cls.Config(latent_dim=16, g_width=8, d_width=8, lr=1e-3, image_score="map_top_k", top_k=0.005)
    model = cls(config, (1, PATCH, PATCH))
    model.optimizers, model.grad_scalers = model.configure_optimizers(), {}
    for step in range(steps):
        model.train_step((batches(step),), step)
    return model


def test_a_small_defect_is_found_and_located_by_tiles_and_missed_when_squeezed():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    normal = smooth_texture(48, generator)
    clean = smooth_texture(8, generator)
    defective, corners = add_defect(clean, generator)  # the same 8 images with a defect each
    test, labels = torch.cat([clean, defective]), torch.arange(16) >= 8

    pick = lambda step: normal[torch.randint(0, len(normal), (16,), generator=generator)]  # noqa: E731
    tiled = train_ganomaly(lambda step: random_crops(pick(step), PATCH, generator), steps=80)
    out = tiled.score_dataset(test)
    assert image_metrics(out.scores, labels)["auroc"] == 1.0
    for maps, (r, c) in zip(out.maps[8:], corners):
        peak = divmod(maps[0].argmax().item(), SIZE)
        assert r - 2 <= peak[0] < r + DEFECT + 2 and c - 2 <= peak[1] < c + DEFECT + 2, (peak, (r, c))

    squeezed = train_ganomaly(lambda step: resize_batch(pick(step), PATCH), steps=40)
    squeezed_scores = squeezed.score_dataset(resize_batch(test, PATCH)).scores
    assert image_metrics(squeezed_scores, labels)["auroc"] < 0.75
