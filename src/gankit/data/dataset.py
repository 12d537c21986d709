"""The :class:`Data` container every spec loader returns, and the helpers they share.

A loaded data set is either a tensor of examples in memory (``x``) or a torch
``Dataset`` that decodes one file per item (``source``); labels ``y`` are
always in memory so that class filters, splits and summaries never decode.

    data = Data(name="toy:ring8", kind="points", shape=(2,), class_names=[], x=x, y=y, source=None)
    train = data.subset(torch.arange(100))
    len(train)  # 100
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, NamedTuple

import torch
from torch import Tensor
from torch.utils.data import Dataset, Subset

from gankit.data.images import resize_batch
from gankit.errors import GankitError

TRAIN_FRACTION = 0.8


class DataSpec(NamedTuple):
    """A data spec string split into its prefix and argument, in this one place:
    ``DataSpec.of(" MNIST : /data ")`` is ``("mnist", "/data")``. Whether the prefix is known and
    takes that argument is checked by ``gankit.data.specs.parse_spec``."""

    prefix: str  # lower case
    argument: str | None  # after the first ":", stripped; None when there is none

    @classmethod
    def of(cls, text: str) -> DataSpec:
        prefix, _, argument = text.strip().partition(":")
        return cls(prefix.strip().lower(), argument.strip() or None)


@dataclass
class Data:
    """Examples of one data set, in memory (``x``) or streamed from disk (``source``)."""

    name: str  # the spec as resolved, e.g. "mnist:/data/mnist"
    kind: Literal["image", "points"]
    shape: tuple[int, ...]  # one example: (C, H, W) or (2,)
    class_names: list[str]  # label i is class_names[i]; [] when unlabelled
    x: Tensor | None  # [N, *shape] float32, images in [-1, 1]
    y: Tensor | None  # [N] int64, -1 when unknown
    source: Dataset | None  # item -> (x [C, H, W] in [-1, 1], y int)
    modes: Tensor | None = None  # [M, 2] centres of a toy mixture
    mode_std: float | None = None
    files: list[Path] | None = None  # the file each example was decoded from; None when not from files

    def __len__(self) -> int:
        if self.x is not None:
            return self.x.shape[0]
        return len(self.source)

    def subset(self, indices: Sequence[int] | Tensor) -> Data:
        """The same data set restricted to ``indices`` (in that order)."""
        index = torch.as_tensor(indices, dtype=torch.long).reshape(-1)  # [K]
        return replace(
            self,
            x=None if self.x is None else self.x[index],
            y=None if self.y is None else self.y[index],
            source=None if self.source is None else Subset(self.source, index.tolist()),
            files=None if self.files is None else [self.files[i] for i in index.tolist()],
        )


@dataclass
class TwoDomainData(Data):
    """Two image data sets of the same shape (domains A and B), declared ``paired`` or not.

    Paired domains are aligned (example i of A goes with example i of B) and are shuffled
    together; unpaired ones (CycleGAN's) are shuffled each on its own. ``len`` is the
    larger domain's count.
    """

    parts: tuple[Data, ...] = ()  # (domain A, domain B)
    paired: bool = False

    def __post_init__(self) -> None:
        if len(self.parts) != 2:
            raise GankitError(f"{self.name}: two-domain data needs exactly two parts, got {len(self.parts)}")
        if self.paired and len(self.parts[0]) != len(self.parts[1]):
            raise GankitError(
                f"{self.name}: paired domains differ in size ({len(self.parts[0])} and {len(self.parts[1])})"
            )

    def __len__(self) -> int:
        return max(len(part) for part in self.parts)

    def subset(self, indices: Sequence[int] | Tensor) -> Data:
        if not self.paired:
            raise GankitError("unpaired data has no common index; take subsets of its parts (data.parts)")
        return replace(self, parts=tuple(part.subset(indices) for part in self.parts))


def labels_of(data: Data) -> Tensor:
    """[N] int64 labels, all -1 when the data set has none."""
    if data.y is not None:
        return data.y
    return torch.full((len(data),), -1, dtype=torch.long)


def keep_classes(labels: Tensor, class_names: list[str], classes: list[int] | None, name: str) -> Tensor:
    """[K] indices of the examples whose label is in ``classes`` (all when ``classes`` is None)."""
    if classes is None:
        return torch.arange(labels.shape[0])
    if not class_names:
        raise GankitError(f"data.classes is set but {name} has no class labels")
    unknown = sorted({c for c in classes if not 0 <= c < len(class_names)})
    if unknown:
        available = ", ".join(f"{i}={n}" for i, n in enumerate(class_names))
        raise GankitError(f"data.classes {unknown} not in {name}; available: {available}")
    keep = torch.isin(labels, torch.tensor(classes, dtype=torch.long)).nonzero().flatten()
    if keep.numel() == 0:
        raise GankitError(f"data.classes {classes} leave no examples in {name}")
    return keep


def filter_classes(data: Data, classes: list[int] | None) -> Data:
    """``data`` restricted to the labels in ``classes``; ``data`` itself when there is no filter."""
    if classes is None:
        return data
    return data.subset(keep_classes(labels_of(data), data.class_names, classes, data.name))


def keep_random(data: Data, limit: int, seed: int) -> Data:
    """``limit`` examples of ``data`` drawn without replacement with ``seed``, in their original
    order: the small-data experiments' subsets, the same for every run with that seed."""
    if limit > len(data):
        raise GankitError(f"data.limit {limit} is more than the {len(data)} examples of {data.name}")
    chosen = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:limit]
    return data.subset(chosen.sort().values)


def fixed_split(n: int, split: Literal["train", "test"]) -> Tensor:
    """[K] sorted indices of an 80/20 split that is the same for every run seed.

    Seeding with a constant keeps train and test disjoint whatever data.seed a
    run uses, so a model can never be evaluated on its own training examples.
    """
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    cut = int(n * TRAIN_FRACTION)
    chosen = order[:cut] if split == "train" else order[cut:]
    return chosen.sort().values


def existing_dir(text: str, spec: str) -> Path:
    """The directory named in a spec, with ``~`` expanded; a GankitError when it is not one."""
    try:
        path = Path(os.path.expanduser(text)).resolve()
        if not path.exists():
            raise GankitError(f"{spec}: no such directory: {text}")
        if not path.is_dir():
            raise GankitError(f"{spec}: {text} is a file, expected a directory")
    except (OSError, ValueError) as error:  # e.g. a NUL byte or a name too long for the OS
        raise GankitError(f"{spec}: cannot use {text!r} as a directory ({error})") from None
    return path


def fit_in_box(data: Data, box: int) -> Data:
    """``data`` with each image shrunk into a centred ``box`` x ``box`` square and black (-1) around
    it: MNIST centres its digits in 20 of 28 px, and sets framed otherwise (scikit-learn's digits
    fill their frame) differ from it in framing before any style (data.box)."""
    if data.kind != "image" or data.x is None:
        raise GankitError(f"data.box needs images held in memory; {data.name} is not")
    size = data.shape[-1]
    if box > size:
        raise GankitError(f"data.box={box} is larger than the images ({size} px)")
    inner = resize_batch(data.x, box).clamp(-1.0, 1.0)  # [N, C, box, box]
    before = (size - box) // 2
    after = size - box - before
    x = torch.nn.functional.pad(inner, (before, after, before, after), value=-1.0)  # [N, C, size, size]
    return replace(data, name=f"{data.name}[box={box}]", x=x)
