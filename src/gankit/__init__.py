"""gankit: train, sample, translate and detect anomalies with the GAN family.

    import gankit
    run = gankit.train("gan", data="digits", steps=500)
    model = gankit.load(run.run_dir)
    images = model.sample(16)          # [16, 1, 16, 16] in [-1, 1]
"""

__version__ = "0.1.0"

__all__ = ["MODELS", "load", "score", "train", "__version__"]


def __getattr__(name: str):
    # Resolved on first use, so that `import gankit.deploy` (ONNX Runtime inference) does not load
    # the training loop, matplotlib or torchmetrics that the API needs.
    if name in ("load", "score", "train"):
        from gankit import api

        return getattr(api, name)
    if name == "MODELS":
        from gankit.models import MODELS

        return MODELS
    raise AttributeError(f"module 'gankit' has no attribute {name!r}")
