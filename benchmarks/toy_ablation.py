"""The WGAN-GP ring ablation of issue 13 (docs/BENCHMARKS.md, "Why WGAN-GP's samples stay diffuse").

A minimal WGAN-GP loop built from gankit's parts (its MLP, ``gradient_penalty`` and the VEEGAN
mode metric), so that one setting can be changed at a time without the rest of the toolkit:
3 x 256 MLPs, Adam betas (0.5, 0.9), lambda 0.1, batch 256, 5 critic steps per generator step.
Prints the modes captured and the high-quality share four times per run.

    PYTHONPATH=src python benchmarks/toy_ablation.py --lr 3e-4 --decay --generator-steps 4000
"""

from __future__ import annotations

import argparse
import time

import torch

from gankit.data.toy import grid_modes, ring_modes
from gankit.metrics.modes import mode_coverage
from gankit.models.gan.networks import MLP
from gankit.nn.losses import gradient_penalty

BATCH, CRITIC_STEPS, GP_WEIGHT, FIXED_SET = 256, 5, 0.1, 100_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mixture", choices=["ring8", "grid25"], default="ring8")
    parser.add_argument("--generator-steps", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--decay", action="store_true", help="learning rate falls linearly to 0")
    parser.add_argument("--fresh", action="store_true", help="fresh samples every batch, not a fixed set")
    parser.add_argument("--latent", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    modes, std = (ring_modes(8, 2.0), 0.02) if args.mixture == "ring8" else (grid_modes(5, 2.0), 0.05)

    def draw(n: int) -> torch.Tensor:
        return modes[torch.randint(0, len(modes), (n,))] + std * torch.randn(n, 2)  # [n, 2]

    fixed = draw(FIXED_SET)
    generator = MLP(args.latent, 2, 256, 3, "relu")
    critic = MLP(2, 1, 256, 3, "leaky_relu")
    optimizers = [torch.optim.Adam(net.parameters(), args.lr, betas=(0.5, 0.9)) for net in (generator, critic)]
    start = time.perf_counter()
    for step in range(args.generator_steps):
        for optimizer in optimizers:
            for group in optimizer.param_groups:
                group["lr"] = args.lr * (1 - step / args.generator_steps if args.decay else 1.0)
        for _ in range(CRITIC_STEPS):
            x = draw(BATCH) if args.fresh else fixed[torch.randint(0, FIXED_SET, (BATCH,))]
            with torch.no_grad():
                fake = generator(torch.randn(BATCH, args.latent))
            loss = critic(fake).mean() - critic(x).mean() + GP_WEIGHT * gradient_penalty(critic, x, fake)
            optimizers[1].zero_grad()
            loss.backward()
            optimizers[1].step()
        loss = -critic(generator(torch.randn(BATCH, args.latent))).mean()
        optimizers[0].zero_grad()
        loss.backward()
        optimizers[0].step()
        if (step + 1) % (args.generator_steps // 4) == 0:
            with torch.no_grad():
                scores = mode_coverage(generator(torch.randn(2500, args.latent)), modes, std)
            print(f"{step + 1} generator steps, {time.perf_counter() - start:.0f} s: {scores}", flush=True)


if __name__ == "__main__":
    main()
