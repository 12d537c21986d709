"""Runs under torchrun for tests/training/test_distributed.py (one process per rank, gloo on CPU).

    python -m torch.distributed.run --standalone --nproc_per_node 2 tests/training/ddp_worker.py MODE OUT

MODE variants: every variant in MODELS trains a few steps; rank 0 records whether all ranks ended
with identical parameters (DDP kept them in sync) in OUT/variants.json.
MODE parity: the deterministic WGAN below trains with batch 16 per rank (compared by the test with
one process at batch 32).
MODE resume: gan trains 6 steps straight, and 3 steps then a resume to 6, both on 2 ranks.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from gankit import api  # noqa: E402
from gankit.models import MODELS  # noqa: E402
from gankit.models.wgan.model import WGAN  # noqa: E402
from gankit.training.distributed import Distributed, close_process_group  # noqa: E402
from gankit.training.loop import Trainer  # noqa: E402

def _tiny_settings():
    # By file path: a package named "tests" in site-packages would shadow this folder.
    spec = importlib.util.spec_from_file_location("tests_conftest", ROOT / "tests" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.tiny_settings


tiny_settings = _tiny_settings()

TRAIN = ["train.progress=false", "train.log_every=1", "train.sample_every=1000", "train.num_preview=4",
         "train.eval_metrics=[]", "train.device=cpu"]


class DeterministicWGAN(WGAN):
    """WGAN whose noise is a fixed function of each real example, so a batch split over ranks
    draws exactly the noise one process draws for the whole batch (no batch norm either)."""

    def train_step(self, batch, step):
        self._x = batch[0]  # [N, 2]
        return super().train_step(batch, step)

    def latent(self, n, dim, generator=None):
        if generator is not None:  # previews
            return super().latent(n, dim, generator)
        projection = torch.randn(self._x[0].numel(), dim, generator=torch.Generator().manual_seed(7))
        return torch.tanh(self._x.flatten(1) @ projection.to(self._x.device))


def tiny(name: str) -> list[str]:
    return [f"model.{k}={v}" for k, v in tiny_settings(name).items()]


def parameters_digest(model: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for tensor in model.parameters():
        digest.update(tensor.detach().cpu().numpy().tobytes())
    return digest.hexdigest()


def train(name: str, out: Path, overrides: list[str], **budget) -> Trainer:
    config = api.make_config(name, overrides=tiny(name) + TRAIN + overrides, **budget)
    trainer = Trainer(config, out)
    trainer.fit()
    return trainer


def main(mode: str, out: Path) -> None:
    MODELS["deterministic_wgan"] = DeterministicWGAN
    if mode == "variants":
        results = {}
        for name in [n for n in MODELS if n != "deterministic_wgan"]:
            data = ["data.image_size=16"] if name == "stylegan" else []
            # Two steps: f-AnoGAN's tiny table makes them one GAN step and one encoder step.
            trainer = train(name, out / name, data + ["train.batch_size=4", "train.checkpoint_every=2"], steps=2)
            digests = trainer.dist.gather(parameters_digest(trainer.model))
            results[name] = {"in_sync": len(set(digests)) == 1, "ranks": len(digests), "step": trainer.step}
        if trainer.dist.is_main:
            (out / "variants.json").write_text(json.dumps(results, indent=2))
    elif mode == "parity":
        train("deterministic_wgan", out / "two-ranks", ["data.spec=toy:ring8", "data.toy_samples=512",
              "model.network=mlp", "model.g_norm=none", "model.d_norm=none", "train.batch_size=16",
              "train.checkpoint_every=6"], steps=6)
    elif mode == "resume":
        common = ["data.spec=toy:ring8", "data.toy_samples=512", "train.batch_size=16", "train.checkpoint_every=3"]
        train("gan", out / "straight", common, steps=6)
        train("gan", out / "split", common, steps=3)
        api.resume(out / "split", steps=6)
    close_process_group()


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(sys.argv[1], Path(sys.argv[2]))
