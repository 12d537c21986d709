"""Data sets for gankit: a ``DataConfig`` is resolved once into a typed spec that owns its
options (:func:`resolve_spec`, :mod:`gankit.data.kinds`), which loads as a :class:`Data`
holding images or 2-D points (or :class:`TwoDomainData`), and :func:`make_stream` turns
it into endless, resumable batches on a device.

    data = load_data(DataConfig(spec="mnist:/data/mnist", image_size=32))   # resolved, then loaded
    print(describe(data))
    x, y = next(make_stream(data, 64, seed=0, device=torch.device("cpu")))
"""

from gankit.data.dataset import Data, TwoDomainData
from gankit.data.specs import SPECS, load_data, parse_spec, resolve_spec
from gankit.data.stream import BatchStream, make_stream
from gankit.data.summary import describe, preview_grid

__all__ = [
    "SPECS", "BatchStream", "Data", "TwoDomainData", "describe", "load_data", "make_stream", "parse_spec",
    "preview_grid", "resolve_spec",
]
