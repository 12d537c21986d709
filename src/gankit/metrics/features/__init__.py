"""Feature extractors for the sample-quality metrics: name -> loader.

``classifier`` is a small CNN gankit trains on the data set itself (works
offline, on CPU, on any labelled image set); ``inception`` is InceptionV3 for
FIDs comparable with papers. ``auto`` takes the classifier when one is cached
for the data, else InceptionV3 when its weights are, else none.

    extractor = get_features("classifier", run_config.data)
    features = extractor.features(images)  # [N, extractor.dim]
"""

from __future__ import annotations

from gankit.config import DataConfig
from gankit.data.dataset import Data
from gankit.errors import GankitError
from gankit.metrics.features.classifier import load_classifier
from gankit.metrics.features.inception import find_weights, load_inception

FEATURES = {
    "classifier": load_classifier,
    "inception": lambda config, data=None: load_inception(),
}


def get_features(name: str, config: DataConfig, data: Data | None = None):
    """The extractor ``name`` for the data of ``config`` (``data``: that data set, already
    loaded, when it is the full train split); ``auto`` may give None."""
    if name == "auto":
        return _auto(config, data)
    if name not in FEATURES:
        raise GankitError(f"unknown features {name!r}; valid: auto, {', '.join(FEATURES)}")
    return FEATURES[name](config, data)


def _auto(config: DataConfig, data: Data | None):
    try:
        return load_classifier(config, data)
    except GankitError:
        pass
    return load_inception() if find_weights() is not None else None
