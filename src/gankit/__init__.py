"""gankit: train, sample, translate and detect anomalies with the GAN family.

    import gankit
    run = gankit.train("gan", data="digits", steps=500)
    model = gankit.load(run.run_dir)
    images = model.sample(16)          # [16, 1, 16, 16] in [-1, 1]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# The API is imported on first use (PEP 562), so that `import gankit` (and with it the command
# line's --help and usage errors) does not pay for torch, torchmetrics and matplotlib.
_LAZY = {"load": "gankit.api", "score": "gankit.api", "train": "gankit.api", "MODELS": "gankit.models",
         "project": "gankit.latent.project", "inpaint": "gankit.latent.inpaint"}

if TYPE_CHECKING:
    from gankit.api import load, score, train
    from gankit.latent.inpaint import inpaint
    from gankit.latent.project import project
    from gankit.models import MODELS

__all__ = ["MODELS", "inpaint", "load", "project", "score", "train", "__version__"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'gankit' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
