"""Putting generated content into a hole so that the known pixels stay exactly as they were:
alpha blending (paste) or Poisson blending ("Poisson Image Editing", Pérez et al. 2003), which
keeps the fill's gradients inside the hole and meets the known pixels at its edge, so that no
seam remains where the generator's brightness differs from the image's.

    filled = poisson_blend(known, fill, hole)     # [N, C, H, W]; equal to known wherever ~hole
    filled = alpha_blend(known, fill, hole)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def alpha_blend(known: Tensor, fill: Tensor, hole: Tensor) -> Tensor:
    return torch.where(hole, fill, known)


def _neighbour_sum(u: Tensor) -> Tensor:
    """Sum of the 4 neighbours of every pixel, zero outside the image: [N, C, H, W]."""
    p = F.pad(u, (1, 1, 1, 1))
    return p[..., :-2, 1:-1] + p[..., 2:, 1:-1] + p[..., 1:-1, :-2] + p[..., 1:-1, 2:]


@torch.no_grad()
def poisson_blend(known: Tensor, fill: Tensor, hole: Tensor, max_iterations: int = 2000, tolerance: float = 1e-5) -> Tensor:
    """Solve, per image and channel, Laplacian(x) = Laplacian(fill) inside the hole with x = known
    on its boundary, by conjugate gradients (batched; a few hundred iterations at 64 px; scipy's
    sparse solvers would work one image at a time on the CPU). Known pixels are copied, bit for bit."""
    inside = hole.to(fill.dtype).expand_as(fill)  # [N, C, H, W]
    degree = _neighbour_sum(torch.ones_like(fill[:, :1]))  # 4 inside, 3 on edges, 2 in corners
    guidance = degree * fill - _neighbour_sum(fill)  # the fill's Laplacian; the image border is free (Neumann)

    def operator(u: Tensor) -> Tensor:  # symmetric positive definite on the hole (every hole touches known pixels)
        return inside * (degree * u - _neighbour_sum(inside * u))

    rhs = inside * (guidance + _neighbour_sum((1 - inside) * known))
    x = inside * fill  # start from the fill itself
    residual = rhs - operator(x)
    direction = residual.clone()
    norm = residual.square().sum((2, 3), keepdim=True)  # [N, C, 1, 1]
    target = tolerance**2 * rhs.square().sum((2, 3), keepdim=True).clamp_min(1e-12)
    for _ in range(max_iterations):
        if bool((norm <= target).all()):
            break
        step = operator(direction)
        alpha = norm / (direction * step).sum((2, 3), keepdim=True).clamp_min(1e-30)
        x = x + alpha * direction
        residual = residual - alpha * step
        new_norm = residual.square().sum((2, 3), keepdim=True)
        direction = residual + (new_norm / norm.clamp_min(1e-30)) * direction
        norm = new_norm
    return torch.where(hole, x, known)
