"""scikit-learn's bundled 8x8 handwritten digits: 1797 images that need no download,
which makes them the default spec for quick runs and tests.

    data = load_data(DataConfig(spec="digits", image_size=32))   # load_digits(KnownSetSpec(...))
    data.x.shape   # (1437, 1, 32, 32), train split
    data.class_names[data.y[0]]
"""

from __future__ import annotations

import torch

from gankit.data.dataset import Data, fixed_split, keep_classes
from gankit.data.images import grey_to_signed
from gankit.data.kinds import KnownSetSpec

DEFAULT_SIZE = 16
CLASS_NAMES = [str(digit) for digit in range(10)]


def load_digits(spec: KnownSetSpec) -> Data:
    import sklearn.datasets  # seconds to import, so only when digits are asked for

    bunch = sklearn.datasets.load_digits()
    images = torch.from_numpy(bunch.images).float().div(16.0).unsqueeze(1)  # [1797, 1, 8, 8] in [0, 1]
    labels = torch.from_numpy(bunch.target).long()  # [1797]
    keep = fixed_split(labels.shape[0], spec.split)
    keep = keep[keep_classes(labels[keep], CLASS_NAMES, spec.classes, "digits")]
    x = grey_to_signed(images[keep], spec.image_size or DEFAULT_SIZE, spec.channels)
    return Data(
        name="digits",
        kind="image",
        shape=tuple(x.shape[1:]),
        class_names=list(CLASS_NAMES),
        x=x,
        y=labels[keep],
        source=None,
    )
