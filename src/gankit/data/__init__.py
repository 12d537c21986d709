"""Data sets for gankit: a spec string (``DataConfig.spec``) becomes a :class:`Data`
holding images or 2-D points, and a :class:`BatchStream` turns it into
endless, resumable batches on a device.

    data = load_data(DataConfig(spec="mnist:/data/mnist", image_size=32))
    print(describe(data))
    x, y = next(BatchStream(data, 64, seed=0, device=torch.device("cpu")))
"""

from gankit.data.dataset import Data
from gankit.data.specs import SPECS, load_data, parse_spec
from gankit.data.stream import BatchStream
from gankit.data.summary import describe, preview_grid

__all__ = ["SPECS", "BatchStream", "Data", "describe", "load_data", "parse_spec", "preview_grid"]
