"""One evaluation routine for ``gankit eval``, the loop's in-training evaluation and the
end of every run: draw samples once, extract features once, run every metric, and
report each score beside its floor.

The floor of a metric is its value between two disjoint halves of the real data
with the same number of examples as the samples: what a perfect generator would
score at this sample count. The real halves, their features and the floor are
computed once per :class:`Evaluator` and reused at every call.

    evaluator = Evaluator(data, run_config.data, model, ["fid", "pr"], num_samples=5000, features="classifier")
    values = evaluator(model)  # {"fid": 12.3, "fid_floor": 0.4, "precision": ..., "precision_floor": ...}
"""

from __future__ import annotations

import torch
from torch import Tensor

from gankit.config import DataConfig
from gankit.data.dataset import Data
from gankit.errors import GankitError
from gankit.metrics import METRICS, get_metric
from gankit.metrics.features import get_features
from gankit.metrics.samples import FLOOR_SUFFIX, ClassifierExtractor, ModelMetric, SampleMetric, SampleSet, gather


def features_hint(data: Data) -> str:
    """How to get features for ``data``: a command that works on it."""
    if data.kind == "image" and data.class_names:
        return f"train a classifier with 'gankit features train --data {data.name} --size {data.shape[1]} --channels {data.shape[0]}'"
    return "it has no class labels to train a classifier on; give InceptionV3 weights ('gankit features inception --help')"


class Evaluator:
    def __init__(
        self,
        data: Data,
        data_config: DataConfig,
        model,
        names: list[str] | None = None,
        *,
        num_samples: int = 2500,
        seed: int = 0,
        features: str = "auto",
        batch_size: int = 500,
        sample_options: dict | None = None,
    ) -> None:
        if num_samples <= 0:
            raise GankitError(f"the number of samples must be > 0, got {num_samples}")
        self.data = data
        self.seed = seed
        self.batch_size = batch_size
        self.sample_options = sample_options or {}  # model.sample's keywords, e.g. {"truncation": 0.8}
        self.num_samples = self.sample_count(data, num_samples)
        explicit = names is not None
        self.skipped: dict[str, str] = {}  # metric -> why it did not run (the report says so)
        if names == []:
            self.skipped["all"] = "train.eval_metrics is empty"
        names = [n.strip() for n in names] if explicit else [n for n, m in METRICS.items() if m.applies_to(model, data)]
        self.metrics = {name: get_metric(name) for name in names}
        for name, metric in self.metrics.items():
            if not metric.applies_to(model, data):
                raise GankitError(f"metric {name!r} does not apply to {type(model).__name__} on {data.name}")
        self.extractor = None
        if any(metric.needs in ("features", "classifier") for metric in self._sample_metrics):
            full_train = data_config.classes is None and data_config.split == "train"
            self.extractor = get_features(features, data_config, data if full_train else None)
        for name, metric in list(self.metrics.items()):
            missing = self._missing(metric)
            if missing and explicit:
                raise GankitError(f"metric {name!r} {missing}")
            if missing:  # the default set keeps what can run with the features at hand
                del self.metrics[name]
                self.skipped[name] = missing
        if self.extractor is not None:
            self.extractor.to(_device_of(model))
        self._reference: SampleSet | None = None
        self._floor: dict[str, float] | None = None

    @staticmethod
    def sample_count(data: Data, num_samples: int) -> int:
        """Samples an evaluation of ``data`` draws; a GankitError when the data set is too small.
        The floor needs two disjoint real halves of the same size as the sample set."""
        count = min(num_samples, len(data) // 2)
        if count < 10:
            raise GankitError(f"{data.name} holds {len(data)} examples; the end-of-training evaluation needs "
                              "at least 20 (two real halves of 10)")
        return count

    def _missing(self, metric: SampleMetric | ModelMetric) -> str | None:
        """Why ``metric`` cannot run with this extractor, or None."""
        if isinstance(metric, ModelMetric):
            return None
        if metric.needs == "features" and self.extractor is None:
            return ("needs features, and neither a classifier nor the InceptionV3 weights are cached for "
                    f"{self.data.name}; {features_hint(self.data)}")
        if metric.needs == "classifier" and not isinstance(self.extractor, ClassifierExtractor):
            return "needs --features classifier"
        return None

    @property
    def features_name(self) -> str:
        return self.extractor.name if self.extractor is not None else "none"

    def _real_sets(self) -> tuple[SampleSet, SampleSet]:
        order = torch.randperm(len(self.data), generator=torch.Generator().manual_seed(self.seed))
        halves = order[: self.num_samples], order[self.num_samples: 2 * self.num_samples]
        return tuple(
            SampleSet(gather(self.data, half), data=self.data, extractor=self.extractor,
                      labels=None if self.data.y is None else self.data.y[half], seed=self.seed,
                      batch_size=self.batch_size)
            for half in halves
        )

    def floor(self) -> dict[str, float]:
        """Every metric between the two real halves (computed once)."""
        if self._floor is None:
            self._reference, other = self._real_sets()
            self._floor = {}
            for metric in self._sample_metrics:
                self._floor.update(metric.compute(other, self._reference))
        return self._floor

    def samples(self, model) -> Tensor:
        generator = torch.Generator().manual_seed(self.seed)
        chunks = []
        for start in range(0, self.num_samples, self.batch_size):
            n = min(self.batch_size, self.num_samples - start)
            chunks.append(model.sample(n, generator=generator, **self.sample_options).float().cpu())
        return torch.cat(chunks)  # [num_samples, *shape]

    @property
    def _sample_metrics(self) -> list[SampleMetric]:
        return [metric for metric in self.metrics.values() if isinstance(metric, SampleMetric)]

    def __call__(self, model) -> dict[str, float]:
        """Scores of ``model``'s samples, each followed by its ``_floor``; then model metrics."""
        values: dict[str, float] = {}
        if self._sample_metrics:
            floor = self.floor()
            fake = SampleSet(self.samples(model), data=self.data, extractor=self.extractor, seed=self.seed,
                             batch_size=self.batch_size)
            for metric in self._sample_metrics:
                for key, value in metric.compute(fake, self._reference).items():
                    values[key] = value
                    values[key + FLOOR_SUFFIX] = floor[key]
        for metric in self.metrics.values():
            if isinstance(metric, ModelMetric):
                values.update(metric.compute(model, self.data, num_samples=self.num_samples, seed=self.seed))
        return values


    def record(self, step: int, values: dict[str, float]) -> dict:
        """What ``RUN/eval.json`` holds: the settings, then every score and floor."""
        return {"step": step, "data": self.data.name, "num_samples": self.num_samples,
                "features": self.features_name, "seed": self.seed, **self.sample_options, **values,
                **({"skipped": self.skipped} if self.skipped else {})}


def _device_of(model) -> torch.device:
    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration):
        return torch.device("cpu")
