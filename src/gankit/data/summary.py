"""Human-readable views of a loaded data set: a text summary for ``gankit data``
and a random selection of images to tile into a preview grid.

    print(describe(data))              # spec, count, shape, classes with counts, value range
    images = preview_grid(data, n=16)  # [16, C, H, W] in [-1, 1]
"""

from __future__ import annotations

import torch
from torch import Tensor

from gankit.data.dataset import Data, TwoDomainData, labels_of
from gankit.errors import GankitError


def describe(data: Data) -> str:
    if isinstance(data, TwoDomainData):  # one summary per domain
        parts = [describe(part).replace("\n", "\n  ") for part in data.parts]
        return "\n".join([data.name] + [f"  domain {domain}: {text}" for domain, text in zip("AB", parts)])
    lines = [
        data.name,
        f"  kind:    {data.kind}",
        f"  count:   {len(data)}",
        f"  shape:   {' x '.join(map(str, data.shape))}",
        f"  values:  {_value_range(data)}",
    ]
    if data.modes is not None:
        lines.append(f"  modes:   {data.modes.shape[0]}, std {data.mode_std:g}")
    labels = labels_of(data)
    if data.class_names:
        counts = torch.bincount(labels[labels >= 0], minlength=len(data.class_names)).tolist()
        lines.append(f"  classes: {len(data.class_names)}")
        # Digits and modes are named by their label; print such a name once.
        shown = [name if name == str(label) else f"{label} {name}" for label, name in enumerate(data.class_names)]
        width = max(map(len, shown))
        lines += [f"    {name:<{width}}  {count}" for name, count in zip(shown, counts, strict=True)]
    unlabelled = int((labels < 0).sum())
    if unlabelled:
        lines.append(f"  unlabelled: {unlabelled}")
    return "\n".join(lines)


def _value_range(data: Data) -> str:
    if data.x is None:
        return "[-1, 1] (streamed from disk, not scanned)"
    if data.kind == "points":
        low, high = data.x.amin(dim=0).tolist(), data.x.amax(dim=0).tolist()
        return ", ".join(f"{axis} in [{lo:.3f}, {hi:.3f}]" for axis, lo, hi in zip("xy", low, high, strict=True))
    return f"min {data.x.min():.3f}, max {data.x.max():.3f}, mean {data.x.mean():.3f}"


def preview_grid(data: Data, n: int = 64, seed: int = 0) -> Tensor:
    """[min(n, N), C, H, W] images in [-1, 1], a random selection fixed by ``seed``."""
    if data.kind != "image":
        raise GankitError(f"{data.name} holds 2-D points, not images; plot them instead")
    if n < 1:
        raise GankitError(f"a preview needs at least one image, got n={n}")
    if isinstance(data, TwoDomainData):  # half from each domain
        return torch.cat([preview_grid(part, max(1, n // len(data.parts)), seed) for part in data.parts])
    chosen = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:n]  # [n]
    if data.x is not None:
        return data.x[chosen]
    return torch.stack([data.source[i][0] for i in chosen.tolist()])
