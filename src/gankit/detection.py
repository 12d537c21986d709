"""The arithmetic of anomaly scores, one implementation shared by the trained detectors
(``model.score_dataset``, so ``gankit score``, calibration and the overlays) and by
``gankit.deploy``, which scores exported files with it: images larger than a detector's input
scored by overlapping tiles, the image score taken from the result, and the calibrated
normalisation. It needs torch only (no model, no training stack), so deploy imports it.

Tiling runs every tile through a scorer (a detector's ``anomaly_score``, or an ONNX Runtime
session wrapped to answer the same :class:`AnomalyOutput`) in batches, so memory is bounded by
one batch of tiles and the stitched outputs, whatever the image size.

How this differs from anomalib's Tiler (read for ideas): the image is padded by
reflection, by the tiles' overlap on every side, so a pixel at the border is
scored in the middle of a tile that sees its mirrored surroundings rather than
at the edge of one tile (or in zero padding); and the per-tile maps are blended
with a Hann window instead of a plain average, so a tile's edge, where
reconstructions are worst, weighs nearly nothing and the stitched map has no
seams. At the default stride (half a tile) Hann windows sum to exactly one.

The final map (stitched, or the whole image's) may be smoothed by a Gaussian before the image
score is taken from it (``map_sigma``, as anomalib post-processes its maps): a residual map of a
textured surface is dominated by pixel-sized texture, while defects are blobs and lines several
pixels wide.

    tiler = Tiler(patch_size=64, stride=32)
    scores, maps, reconstructions = tiler.score(model.anomaly_score, x, batch_size=256)  # x [N, C, H, W]
    raw, maps = final_scores(scores, maps, "map_top_k", top_k=0.01, map_sigma=4)  # [N]: mean of the top 1%
                                                                                  # of each smoothed map
    p = normalized(raw, raw_threshold, scale)                     # [N] in (0, 1); >= 0.5: anomalous
    raw, p, anomalous, maps = decide(scores, maps, "map_top_k", 0.01, 4, raw_threshold, scale, 0.5)  # the three in one
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.transforms.v2.functional import gaussian_blur

from gankit.capabilities import AnomalyOutput
from gankit.errors import GankitError

ImageScore = Literal["detector", "map_max", "map_top_k"]
WINDOW_FLOOR = 1e-3  # keeps every padded pixel's summed weight > 0 when tiles do not overlap


def hann_window(size: int) -> Tensor:
    """[size, size] separable Hann weights, near zero at the edges, one in the middle."""
    ramp = torch.sin(math.pi * (torch.arange(size, dtype=torch.float32) + 0.5) / size) ** 2  # [size]
    return (ramp[:, None] * ramp[None, :]).clamp_min(WINDOW_FLOOR)


class Tiler:
    """Overlapping ``patch_size`` tiles at ``stride`` over reflection-padded images."""

    def __init__(self, patch_size: int, stride: int | None = None) -> None:
        stride = max(1, patch_size // 2) if stride is None else stride
        if not 0 < stride <= patch_size:
            raise GankitError(f"the tile stride must be in 1..{patch_size} (the patch size), got {stride}")
        self.patch_size = patch_size
        self.stride = stride

    def padding(self, length: int) -> tuple[int, int]:
        """(before, after) reflection padding of one side of ``length`` px so the tiles cover it."""
        before = self.patch_size - self.stride  # the overlap: border pixels also sit inside a tile
        covered = length + 2 * before - self.patch_size
        after = before + (-covered) % self.stride  # the last tile ends exactly at the padded border
        return before, after

    def positions(self, height: int, width: int) -> list[tuple[int, int]]:
        """(top, left) of every tile in the padded image."""
        (top, bottom), (left, right) = self.padding(height), self.padding(width)
        rows = range(0, height + top + bottom - self.patch_size + 1, self.stride)
        cols = range(0, width + left + right - self.patch_size + 1, self.stride)
        return [(r, c) for r in rows for c in cols]

    def score(
        self, anomaly_score: Callable[[Tensor], AnomalyOutput], x: Tensor, batch_size: int, device: torch.device | None = None
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """Score x [N, C, H, W] (on the CPU) tile by tile with ``anomaly_score`` (a detector's),
        ``batch_size`` tiles per call on ``device``: (the largest tile score of each image [N],
        the stitched maps [N, 1, H, W], the stitched reconstructions [N, C, H, W] or None)."""
        n, channels, height, width = x.shape
        size = self.patch_size
        if min(height, width) < size:
            raise GankitError(f"images of {height}x{width} px are smaller than the {size} px tiles the model scores")
        (top, bottom), (left, right) = self.padding(height), self.padding(width)
        padded = F.pad(x, (left, right, top, bottom), mode="reflect")  # [N, C, Hp, Wp]
        positions = self.positions(height, width)
        window = hann_window(size)  # [P, P]
        weight = torch.zeros(padded.shape[-2:])  # [Hp, Wp], the same for every image
        for r, c in positions:
            weight[r : r + size, c : c + size] += window
        maps = torch.zeros(n, 1, *padded.shape[-2:])
        reconstructions: Tensor | None = torch.zeros_like(padded)
        scores = torch.full((n,), -torch.inf)
        tiles = [(i, r, c) for i in range(n) for r, c in positions]
        for start in range(0, len(tiles), batch_size):
            chunk = tiles[start : start + batch_size]
            batch = torch.stack([padded[i, :, r : r + size, c : c + size] for i, r, c in chunk])  # [B, C, P, P]
            out = anomaly_score(batch if device is None else batch.to(device))
            tile_maps = out.maps.detach().cpu() * window  # [B, 1, P, P]
            tile_recons = None if out.reconstructions is None else out.reconstructions.detach().cpu() * window
            for k, (i, r, c) in enumerate(chunk):
                maps[i, :, r : r + size, c : c + size] += tile_maps[k]
                if tile_recons is None:
                    reconstructions = None
                elif reconstructions is not None:
                    reconstructions[i, :, r : r + size, c : c + size] += tile_recons[k]
            image_index = torch.tensor([i for i, _, _ in chunk])
            scores.scatter_reduce_(0, image_index, out.scores.detach().cpu().float(), reduce="amax")
        inside = (slice(None), slice(None), slice(top, top + height), slice(left, left + width))
        maps = (maps / weight)[inside]
        if reconstructions is not None:
            reconstructions = (reconstructions / weight)[inside]
        return scores, maps.contiguous(), None if reconstructions is None else reconstructions.contiguous()


def smoothed(maps: Tensor, sigma: float) -> Tensor:
    """maps [N, 1, H, W] blurred by a Gaussian of ``sigma`` px, reflected at the borders (so a
    defect at the edge keeps its height); sigma 0: the maps themselves, untouched."""
    if sigma == 0:
        return maps
    # Three sigmas each side; reflection needs fewer than H (W) px, and the kernel is normalised,
    # so a cut one is still an average.
    half = math.ceil(3 * sigma)
    height, width = maps.shape[-2:]
    size = [2 * min(half, width - 1) + 1, 2 * min(half, height - 1) + 1]  # [x, y], as torchvision takes it
    return gaussian_blur(maps, size, [sigma, sigma])


def final_scores(
    scores: Tensor, maps: Tensor, how: ImageScore, top_k: float = 0.01, map_sigma: float = 0.0
) -> tuple[Tensor, Tensor]:
    """(image scores [N], final maps [N, 1, H, W]) from the detector's (tile) scores [N] and its full-size
    maps: the maps smoothed by ``map_sigma`` px, the image score taken from them (``image_scores``)."""
    maps = smoothed(maps, map_sigma)
    return image_scores(scores, maps, how, top_k), maps


def image_scores(scores: Tensor, maps: Tensor, how: ImageScore, top_k: float = 0.01) -> Tensor:
    """Image scores [N] from the detector's (tile) scores [N] or its maps [N, 1, H, W]."""
    if how == "detector":
        return scores
    flat = maps.flatten(1)  # [N, H * W]
    if how == "map_max":
        return flat.amax(1)
    k = max(1, math.ceil(top_k * flat.shape[1]))
    return flat.topk(k, dim=1).values.mean(1)


def normalized(scores: Tensor, raw_threshold: float | Tensor, scale: float | Tensor) -> Tensor:
    """sigmoid((s - t) / sigma): raw scores [N] -> (0, 1), with t itself at 0.5."""
    return torch.sigmoid((scores - raw_threshold) / scale)


def decide(
    scores: Tensor, maps: Tensor, how: ImageScore, top_k: float, map_sigma: float,
    raw_threshold: float | Tensor, scale: float | Tensor, threshold: float | Tensor,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The whole scoring tail of an exported detector: (raw image scores [N], normalised scores [N],
    decisions [N] bool, final maps [N, 1, H, W]) from the detector's (tile) scores and full-size maps,
    the image score taken as ``final_scores`` takes it and judged against the calibration."""
    raw, maps = final_scores(scores, maps, how, top_k, map_sigma)
    score = normalized(raw, raw_threshold, scale)
    return raw, score, score >= threshold, maps
