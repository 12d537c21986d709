"""gankit: train, sample, translate and detect anomalies with the GAN family.

    import gankit
    run = gankit.train("gan", data="digits", steps=500)
    model = gankit.load(run.run_dir)
    images = model.sample(16)          # [16, 1, 16, 16] in [-1, 1]
"""

__version__ = "0.1.0"

from gankit.api import load, score, train  # noqa: E402
from gankit.latent.inpaint import inpaint  # noqa: E402
from gankit.latent.project import project  # noqa: E402
from gankit.models import MODELS  # noqa: E402

__all__ = ["MODELS", "inpaint", "load", "project", "score", "train", "__version__"]
