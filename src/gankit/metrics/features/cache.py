"""Where trained and downloaded feature extractors live: ``$GANKIT_HOME/features`` or
``~/.cache/gankit/features``, one folder per extractor and data set.

    folder = cache_dir_for("classifier", "mnist:/data/mnist", 28, 1)  # .../classifier/mnist-28px-1ch-3f2a9c01
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from gankit.data.dataset import DataSpec
from gankit.rundir import gankit_home


def features_home() -> Path:
    return gankit_home() / "features"


def cache_dir_for(extractor: str, data_name: str, image_size: int, channels: int) -> Path:
    # A readable prefix for people listing the folder, a hash of the full resolved spec
    # so that two folders of images never share a classifier.
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", DataSpec.of(data_name).prefix).strip("-") or "data"
    digest = hashlib.sha256(f"{data_name}|{image_size}|{channels}".encode()).hexdigest()[:8]
    return features_home() / extractor / f"{slug}-{image_size}px-{channels}ch-{digest}"

