"""Short StyleGAN probes for mode collapse: train a few hundred steps on MNIST (32 px, batch 32,
seed 0, one thread) with some overrides, then measure how much the samples vary.

Printed as one JSON line per probe (and appended to benchmarks/results/stylegan-probes.jsonl):
- ``std_ema`` / ``std_raw``: per-pixel standard deviation across 256 samples of the EMA and of the
  raw generator (about 0.78 at initialisation; a collapsed generator draws one shape, about 0.15);
- precision, recall and the classifier's confident share, classes and class TV on 2,000 samples
  (the run's end-of-training evaluation, classifier features, against training images).

    python benchmarks/stylegan_probe.py adain 600
    python benchmarks/stylegan_probe.py modulated 600 model.style_op=modulated
    python benchmarks/stylegan_probe.py sngan-d 600 --discriminator sngan

``--discriminator sngan`` swaps StyleGAN's ProGAN discriminator for the one gankit's GAN recipe
uses (SNGAN's CNN at width 32, spectral norm, no minibatch stddev), everything else unchanged: a
benchmark-side subclass, to test whether the discriminator is what collapses the generator.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gankit  # noqa: E402
from benchmarks.generative import ensure_classifier  # noqa: E402

SHOWN = ("precision", "recall", "cls_confident", "cls_classes", "cls_tv")


def register_sngan_discriminator_variant() -> str:
    from gankit.models import MODELS
    from gankit.models.gan.networks import DCGANDiscriminator
    from gankit.models.stylegan.model import StyleGAN

    class StyleGANWithSNGANDiscriminator(StyleGAN):
        def __init__(self, config, data_shape):
            super().__init__(config, data_shape)
            self.discriminator = DCGANDiscriminator(self.data_shape, 32, norm="spectral", extra_convs=True)

    MODELS["stylegan_sngan_d"] = StyleGANWithSNGANDiscriminator
    return "stylegan_sngan_d"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="the probe's name (its run folder and JSON line)")
    parser.add_argument("steps", type=int)
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    parser.add_argument("--runs", default=str(ROOT / "runs" / "stylegan-probes"))
    parser.add_argument("--discriminator", choices=["stylegan", "sngan"], default="stylegan")
    args = parser.parse_args()
    model_name = register_sngan_discriminator_variant() if args.discriminator == "sngan" else "stylegan"
    torch.set_num_threads(1)
    spec = f"mnist:{args.data}"
    ensure_classifier(spec, 3)
    out = Path(args.runs) / args.name
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    result = gankit.train(
        model_name, data=spec, steps=args.steps, out=out, seed=0, progress=False, device="cpu",
        overrides=["data.image_size=32", "train.batch_size=32", "train.sample_every=100000",
                   "train.checkpoint_every=100000", "train.eval_every=0", "train.eval_samples=2000",
                   "train.eval_metrics=[pr,cls]", "train.eval_features=classifier", *args.overrides])
    model = gankit.load(out)
    ema = model.sample(256, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        raw, _ = model.generator(torch.randn(256, model.config.latent_dim, generator=torch.Generator().manual_seed(1)))
    row = {"name": args.name, "sets": args.overrides, "discriminator": args.discriminator, "steps": result.step, "seconds": round(time.perf_counter() - start),
           "std_ema": round(ema.std(0).mean().item(), 3), "std_raw": round(raw.std(0).mean().item(), 3),
           **{k: round(result.evaluation[k], 3) for k in SHOWN if k in result.evaluation}}
    line = json.dumps(row)
    print(line, flush=True)
    with open(ROOT / "benchmarks" / "results" / "stylegan-probes.jsonl", "a") as results:
        results.write(line + "\n")


if __name__ == "__main__":
    main()
