"""A set of examples (generated or real) and what the metrics derive from it,
each computed once per evaluation and shared by every metric that needs it.

    fake = SampleSet(model.sample(5000), data=data, extractor=extractor)
    fake.features()  # [5000, D], extracted on the first call only
    fake.probs()     # [5000, K], classifier extractors only
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor

from gankit.capabilities import Sampler
from gankit.data.dataset import Data
from gankit.errors import GankitError


# Each sample metric is reported beside the same metric between two real halves: KEY + FLOOR_SUFFIX.
FLOOR_SUFFIX = "_floor"
# Why a score has no floor, by the start of its key (the eval table and the report say it).
NO_FLOOR = {
    "cycle_l1": "none: real images have no translation to undo",
    "kid_std": "none: the spread of kid_mean over subsets",
}


def no_floor_reason(key: str) -> str:
    return next((why for start, why in NO_FLOOR.items() if key.startswith(start)), "none")


def number(value: float) -> str:
    """A score as text: whole numbers as integers (19,713, not 1.971e+04), others to 4 digits."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.4g}"

def gather(data: Data, indices: Tensor) -> Tensor:
    """[K, *shape] examples of ``data`` at ``indices``, from memory or decoded from disk."""
    if data.x is not None:
        return data.x[indices]
    loader = torch.utils.data.DataLoader(data.subset(indices).source, batch_size=256, num_workers=0)
    return torch.cat([x for x, _ in loader])


def generates_images(model, data: Data) -> bool:
    """Whether ``model`` samples and ``data`` holds images: what the image metrics apply to."""
    return data.kind == "image" and isinstance(model, Sampler)


class FeatureExtractor(ABC):
    """Maps images in [-1, 1] to feature vectors (FID, KID, precision and recall)."""

    name: ClassVar[str]
    dim: ClassVar[int]

    @abstractmethod
    def to(self, device: torch.device) -> FeatureExtractor: ...

    @abstractmethod
    def features(self, x: Tensor) -> Tensor:
        """[N, C, H, W] -> [N, dim]."""


class ClassifierExtractor(FeatureExtractor):
    """An extractor that is a classifier too: its class probabilities serve the cls metrics."""

    @abstractmethod
    def probs(self, x: Tensor) -> Tensor:
        """[N, C, H, W] -> [N, classes]."""


class SampleMetric(ABC):
    """Scores generated examples against real ones, a :class:`SampleSet` each; the Evaluator
    draws the samples once, shares the features and adds each score's real-vs-real floor."""

    name: ClassVar[str]
    needs: ClassVar[Literal["samples", "features", "classifier"]]  # what of the SampleSets it reads

    @abstractmethod
    def applies_to(self, model: Any, data: Data) -> bool: ...

    @abstractmethod
    def compute(self, samples: SampleSet, reference: SampleSet) -> dict[str, float]: ...


class ModelMetric(ABC):
    """Judges the model itself (a translator's cycle consistency and translation FID) and
    returns its own floors where one exists."""

    name: ClassVar[str]

    @abstractmethod
    def applies_to(self, model: Any, data: Data) -> bool: ...

    @abstractmethod
    def compute(self, model: Any, data: Data, *, num_samples: int = 2500, seed: int = 0) -> dict[str, float]: ...


class SampleSet:
    def __init__(self, x: Tensor, *, data: Data, extractor: FeatureExtractor | None = None, labels: Tensor | None = None,
                 seed: int = 0, batch_size: int = 500) -> None:
        self.x = x  # [N, *shape] on the CPU
        self.data = data  # the real data set these examples are judged against
        self.extractor = extractor
        self.seed = seed
        self.batch_size = batch_size
        self._labels = labels
        self._cache: dict[str, Tensor] = {}

    def __len__(self) -> int:
        return self.x.shape[0]

    def features(self) -> Tensor:
        """[N, D] features of the extractor, on the CPU."""
        return self._mapped("features")

    def probs(self) -> Tensor:
        """[N, K] class probabilities of a classifier extractor, on the CPU."""
        if not isinstance(self.extractor, ClassifierExtractor):
            name = self.extractor.name if self.extractor is not None else "none"
            raise GankitError(f"the classifier metrics need --features classifier, not {name}")
        return self._mapped("probs")

    def labels(self) -> Tensor:
        if self._labels is None:
            raise GankitError("these examples carry no labels")
        return self._labels

    def _mapped(self, kind: Literal["features", "probs"]) -> Tensor:
        if kind not in self._cache:
            if self.extractor is None:
                raise GankitError("this metric needs a feature extractor (--features classifier or inception)")
            apply = self.extractor.features if kind == "features" else self.extractor.probs
            self._cache[kind] = torch.cat(
                [apply(self.x[i:i + self.batch_size]).cpu() for i in range(0, len(self), self.batch_size)]
            )
        return self._cache[kind]
