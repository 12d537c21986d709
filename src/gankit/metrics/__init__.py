"""Metrics registry: name -> metric. A metric is one of two kinds (``gankit.metrics.samples``): a
``SampleMetric`` declares what it ``needs`` (``samples``, ``features`` or
``classifier`` outputs), whether it ``applies_to`` a model and data set, and
``compute``s its scores from a generated :class:`SampleSet` and a real one; the
:class:`~gankit.metrics.evaluator.Evaluator` draws the samples, shares the features
and adds each score's real-vs-real floor. A ``ModelMetric`` judges the model itself
(``compute(model, data, num_samples=, seed=)``) and returns its own floors where one
exists (translation FID/KID; cycle L1 has none).

    evaluator = Evaluator(data, run_config.data, model, ["fid", "kid", "pr", "cls"], features="classifier")
    values = evaluator(model)   # {"fid": ..., "fid_floor": ..., ...}
"""

from __future__ import annotations

from gankit.errors import GankitError
from gankit.metrics.classifier_scores import ClassifierScores
from gankit.metrics.fid import FID, KID
from gankit.metrics.modes import ModeCoverage
from gankit.metrics.precision_recall import PrecisionRecall
from gankit.metrics.translation import CycleConsistency, TranslationFID

METRICS = {
    "modes": ModeCoverage(),
    "fid": FID(),
    "kid": KID(),
    "pr": PrecisionRecall(k=3),
    "cls": ClassifierScores(),
    "cycle": CycleConsistency(),
    "translation_fid": TranslationFID(),
}


def get_metric(name: str):
    try:
        return METRICS[name]
    except KeyError:
        raise GankitError(f"unknown metric {name!r}; valid metrics: {', '.join(METRICS)}") from None

