"""The claims the GAN papers rest on, measured with gankit's own networks, losses and models on
1-D and 2-D distributions whose truth is known in closed form (issue 13, section 5).

1. optimal discriminator: D trained against a fixed generator distribution is p / (p + p_g);
2. saturation: log(1 - D(G(z))) gives G almost no gradient once D is strong, -log D(G(z)) does;
3. JS vs Wasserstein: on disjoint supports JS stays log 2 while W1 falls with the distance, and
   the trained critics (clipping, gradient penalty) track the true W1;
4. WGAN's advice against momentum: the clipped WGAN under RMSProp and under Adam, same budget.

Each check prints one pass/fail line; figures and a JSON of the numbers go to ``--out``.

    python benchmarks/theory.py                           # ~4 min on one core
    python benchmarks/theory.py --quick --out runs/theory # a ~30 s smoke test
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import resource
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402
from torch import Tensor  # noqa: E402
from torch.distributions import Categorical, MixtureSameFamily, Normal  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import gankit  # noqa: E402
from gankit.metrics.modes import mode_coverage  # noqa: E402
from gankit.models.gan.model import GAN, GANConfig  # noqa: E402
from gankit.models.wgan.model import WGAN, WGANConfig  # noqa: E402
from gankit.models.wgan_gp.model import WGANGP, WGANGPConfig  # noqa: E402
from gankit.nn import losses  # noqa: E402
from throughput import matmul_peak  # noqa: E402


@dataclass
class Budget:
    d_steps: int = 4000  # check 1: discriminator updates against the fixed generator distribution
    saturation_steps: int = 1000  # check 2: updates of D against the untrained G
    critic_steps: int = 1000  # check 3: critic updates per distance
    thetas: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0, 1.5, 2.0)
    wgan_steps: int = 3000  # check 4: train steps (batches) per run
    wgan_seeds: int = 3
    batch: int = 256
    eval_samples: int = 20000


QUICK = Budget(d_steps=800, saturation_steps=200, critic_steps=300, thetas=(0.25, 1.0, 2.0), wgan_steps=600,
               wgan_seeds=1, eval_samples=5000)


def mixture(means: list[float], stds: list[float], weights: list[float]) -> MixtureSameFamily:
    """A 1-D Gaussian mixture with exact log density and sampling."""
    return MixtureSameFamily(Categorical(torch.tensor(weights)), Normal(torch.tensor(means), torch.tensor(stds)))


def small_networks(**options) -> dict:
    """MLP settings for the 1-D and 2-D checks: gankit's MLP at 3 x 64 (its toy default is 3 x 256)."""
    return {"network": "mlp", "mlp_width": 64, "mlp_depth": 3, "latent_dim": 8, **options}


def with_optimizers(model):
    model.optimizers = model.configure_optimizers()
    return model


# --- 1. the optimal discriminator --------------------------------------------------------------
P_DATA = ([-1.5, 1.5], [0.5, 0.5], [0.5, 0.5])
P_G = ([0.5], [1.2], [1.0])


def optimal_discriminator(budget: Budget) -> dict:
    """Trains gankit's GAN discriminator (MLP, BCE loss, Adam) against a fixed p_g and compares
    sigmoid(D(x)) with p_data / (p_data + p_g) where the two densities put their mass."""
    p_data, p_g = mixture(*P_DATA), mixture(*P_G)
    model = with_optimizers(GAN(GANConfig(**small_networks(lr_d=1e-3)), data_shape=(1,)))
    # The learning rate anneals to zero so that D settles at the optimum instead of jittering around it.
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(model.optimizers["d"], budget.d_steps)
    for _ in range(budget.d_steps):
        loss_d, _ = model.discriminator_loss(p_data.sample((budget.batch, 1)), p_g.sample((budget.batch, 1)))
        model.optimize(loss_d, "d")
        schedule.step()

    grid = torch.linspace(-5, 5, 1001)  # [G]
    log_p, log_q = p_data.log_prob(grid), p_g.log_prob(grid)
    optimal = torch.sigmoid(log_p - log_q)  # p / (p + q), computed stably
    with torch.no_grad():
        learned = torch.sigmoid(model.discriminator(grid[:, None]))
        # D's loss on fresh samples against its minimum log 4 - 2 JS(p_data, p_g) (Goodfellow et al., theorem 1).
        loss_d, _ = model.discriminator_loss(p_data.sample((budget.eval_samples, 1)), p_g.sample((budget.eval_samples, 1)))
    mass = (log_p.exp() + log_q.exp()) / 2  # [G], the density D is trained on
    region = mass >= 0.01  # outside it neither distribution shows D any samples
    error = (learned - optimal).abs()
    js = js_divergence(log_p, log_q, grid)
    tolerance = 0.05
    return {
        "max_abs_error": float(error[region].max()), "mean_abs_error": float(error[region].mean()),
        "region": [float(grid[region].min()), float(grid[region].max())], "tolerance": tolerance,
        "loss_d": float(loss_d), "loss_d_minimum": math.log(4) - 2 * js, "js": js,
        "passed": bool(error[region].max() < tolerance),
        "curves": {"x": grid.tolist()[::5], "optimal": optimal.tolist()[::5], "learned": learned.tolist()[::5],
                   "p_data": log_p.exp().tolist()[::5], "p_g": log_q.exp().tolist()[::5]},
    }


def js_divergence(log_p: Tensor, log_q: Tensor, grid: Tensor) -> float:
    """JS(p, q) by the trapezoidal rule on ``grid`` (exact to quadrature error for smooth 1-D densities)."""
    log_m = torch.logaddexp(log_p, log_q) - math.log(2)
    integrand = 0.5 * (log_p.exp() * (log_p - log_m) + log_q.exp() * (log_q - log_m))
    return float(torch.trapezoid(integrand, grid))


# --- 2. saturation of the minimax generator loss -------------------------------------------------
def saturation(budget: Budget) -> dict:
    """The norm of G's gradient under each generator loss while D, trained against the untrained G,
    grows strong. Per sample the two differ by the factor D / (1 - D): d/dl log(1 - sigmoid(l)) = -D,
    d/dl -log sigmoid(l) = -(1 - D), for D's logit l."""
    p_data = mixture([3.0], [0.5], [1.0])
    model = with_optimizers(GAN(GANConfig(**small_networks(lr_d=1e-3)), data_shape=(1,)))
    z = model.latent(4096, model.config.latent_dim)  # one fixed batch for every measurement
    checkpoints = sorted({0, *(round(budget.saturation_steps ** (k / 12)) for k in range(13))})
    rows = []
    for step in range(budget.saturation_steps + 1):
        if step in checkpoints:
            rows.append({"d_step": step, **generator_gradients(model, z)})
        with torch.no_grad():
            x_fake = model.generator(model.latent(budget.batch, model.config.latent_dim))
        loss_d, _ = model.discriminator_loss(p_data.sample((budget.batch, 1)), x_fake)
        model.optimize(loss_d, "d")
    strong = rows[-1]
    ratio = strong["minimax"] / strong["non_saturating"]
    return {"rows": rows, "d_fake": strong["d_fake"], "ratio": ratio, "threshold": 1e-2,
            "passed": bool(ratio < 1e-2 and strong["non_saturating"] >= rows[0]["non_saturating"] / 10)}


def generator_gradients(model: GAN, z: Tensor) -> dict:
    parameters = list(model.generator.parameters())
    logits = model.discriminator(model.generator(z))  # [N]
    norms = {}
    for name, loss in (("minimax", losses.generator_minimax), ("non_saturating", losses.generator_non_saturating)):
        grads = torch.autograd.grad(loss(logits), parameters, retain_graph=True)
        norms[name] = float(torch.nn.utils.get_total_norm(grads))
    return {"d_fake": float(torch.sigmoid(logits.detach()).mean()), **norms}


# --- 3. JS divergence and Wasserstein distance on disjoint supports -------------------------------
def parallel_lines(n: int, theta: float) -> Tensor:
    """Arjovsky et al.'s example 1: (theta, Z) with Z ~ U[0, 1], [n, 2]. For theta != 0 the line and
    the one at 0 are disjoint: JS = log 2 whatever theta, W1 = |theta| (move every point sideways)."""
    return torch.stack([torch.full((n,), theta), torch.rand(n)], dim=1)


def js_vs_wasserstein(budget: Budget) -> dict:
    """Trains a clipped critic (WGAN: RMSProp, clip 0.01) and a penalised one (WGAN-GP: Adam (0, 0.9),
    lambda 10) between the line at 0 and the line at theta, for each theta, and compares their
    estimates E f(P_0) - E f(P_theta) with the true W1 = theta. Learning rates are 10x the models'
    defaults (5e-4, 1e-3) so that the critics converge in this budget."""
    rows = []
    for theta in budget.thetas:
        row = {"theta": theta, "w1": theta, "js": math.log(2)}
        for name, model in (("clipping", WGAN(WGANConfig(**small_networks(lr=5e-4)), data_shape=(2,))),
                            ("gradient_penalty", WGANGP(WGANGPConfig(**small_networks(lr=1e-3)), data_shape=(2,)))):
            with_optimizers(model)
            for _ in range(budget.critic_steps):
                loss_d, _ = model.discriminator_loss(parallel_lines(64, 0.0), parallel_lines(64, theta))
                model.optimize(loss_d, "d")
                model.after_discriminator_step()  # clipping for WGAN, nothing for WGAN-GP
            with torch.no_grad():
                row[name] = float(model.discriminator(parallel_lines(budget.eval_samples, 0.0)).mean()
                                  - model.discriminator(parallel_lines(budget.eval_samples, theta)).mean())
        rows.append(row)
    w1 = torch.tensor([r["w1"] for r in rows])
    clipped, penalised = (torch.tensor([r[name] for r in rows]) for name in ("clipping", "gradient_penalty"))
    # A clipped critic is K-Lipschitz for some unknown K: it estimates K * W1, so one scale is fitted.
    scale = float((clipped * w1).sum() / (w1 * w1).sum())
    result = {
        "rows": rows, "clip_scale": scale,
        "clip_spearman": float(spearmanr(clipped, w1).statistic),
        "clip_relative_error": float(((clipped / scale - w1).abs() / w1).max()),
        "gp_spearman": float(spearmanr(penalised, w1).statistic),
        "gp_relative_error": float(((penalised - w1).abs() / w1).max()),
    }
    # Clipping bounds the weights, not the Lipschitz constant, so its critic need not be K times the
    # optimal 1-Lipschitz one: only its ranking is judged (the fitted-scale error is reported).
    result["passed"] = bool(result["clip_spearman"] > 0.95
                            and result["gp_spearman"] > 0.95 and result["gp_relative_error"] < 0.2)
    return result


# --- 4. WGAN with RMSProp vs Adam -------------------------------------------------------------------
TARGET = ([-2.0, 2.0], [0.2, 0.2], [0.5, 0.5])


def exact_w1(samples: Tensor, target: MixtureSameFamily) -> float:
    """W1 between the samples' empirical distribution and ``target``, as the integral of
    |F_samples - F_target| (exact in 1-D; the integrand is evaluated on a fine grid)."""
    samples = samples.flatten().sort().values  # [N]
    grid = torch.linspace(min(-6.0, float(samples[0])), max(6.0, float(samples[-1])), 48001)  # [G]
    empirical = torch.searchsorted(samples, grid, right=True) / samples.numel()
    return float(torch.trapezoid((empirical - target.cdf(grid)).abs(), grid))


def momentum(budget: Budget) -> dict:
    """gankit's ``wgan`` through its own train_step on a 1-D two-mode mixture, RMSProp vs Adam at
    the same learning rate and budget; quality is the exact W1 of 20,000 samples to the target and
    the share of them within 3 std of a mode (gankit's ``modes`` metric). The model's defaults except
    lr 5e-4 (10x: the budget is about 600 generator updates) and no 100-step critic warm-up."""
    target = mixture(*TARGET)
    modes = torch.tensor(TARGET[0])[:, None]  # [2, 1]
    runs = []
    for optimizer in ("rmsprop", "adam"):
        for seed in range(budget.wgan_seeds):
            torch.manual_seed(seed)
            config = WGANConfig(**small_networks(optimizer=optimizer, lr=5e-4, warmup_critic_steps=5))
            model = with_optimizers(WGAN(config, data_shape=(1,)))
            estimates, w1_curve = [], []
            for step in range(budget.wgan_steps):
                estimates.append(model.train_step((target.sample((budget.batch, 1)),), step)["wasserstein"])
                if (step + 1) % (budget.wgan_steps // 20) == 0:
                    w1_curve.append([step + 1, exact_w1(model.sample(budget.eval_samples), target)])
            samples = model.sample(budget.eval_samples)
            tail = torch.tensor(estimates[-len(estimates) // 5:])  # the last 20% of steps
            runs.append({"optimizer": optimizer, "seed": seed, "w1": exact_w1(samples, target),
                         **mode_coverage(samples, modes, TARGET[1][0]),
                         "estimate_mean": float(tail.mean()), "estimate_std": float(tail.std()),
                         "estimates": estimates[:: max(budget.wgan_steps // 500, 1)], "w1_curve": w1_curve,
                         "histogram": torch.histc(samples, 120, -3, 3).tolist()})

    def mean(optimizer: str, key: str) -> float:
        values = [r[key] for r in runs if r["optimizer"] == optimizer]
        return sum(values) / len(values)

    summary = {o: {k: mean(o, k) for k in ("w1", "high_quality", "modes_captured", "estimate_std")}
               for o in ("rmsprop", "adam")}
    passed = (summary["rmsprop"]["w1"] <= summary["adam"]["w1"]
              and summary["rmsprop"]["high_quality"] >= summary["adam"]["high_quality"])
    return {"runs": runs, "summary": summary, "passed": bool(passed)}


# --- figures ------------------------------------------------------------------------------------------
def plot_optimal_discriminator(result: dict, path: Path) -> None:
    c = result["curves"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.fill_between(c["x"], c["p_data"], alpha=0.2, label="p_data")
    ax.fill_between(c["x"], c["p_g"], alpha=0.2, label="p_g")
    ax.plot(c["x"], c["optimal"], "k--", label="p_data / (p_data + p_g)")
    ax.plot(c["x"], c["learned"], label="trained D(x)")
    ax.axvspan(-5, result["region"][0], color="grey", alpha=0.1)
    ax.axvspan(result["region"][1], 5, color="grey", alpha=0.1)
    ax.set(xlabel="x", ylabel="D(x)", xlim=(-5, 5),
           title=f"max |D - D*| = {result['max_abs_error']:.3f} (shaded: density < 0.01, not scored)")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8)
    save(fig, path)


def plot_saturation(result: dict, path: Path) -> None:
    rows = result["rows"]
    d_fake = [r["d_fake"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    left.loglog(d_fake, [r["non_saturating"] for r in rows], "o-", label="-log D(G(z))")
    left.loglog(d_fake, [r["minimax"] for r in rows], "o-", label="log(1 - D(G(z)))")
    left.set(xlabel="mean D(G(z)) as D trains", ylabel="||grad_G loss||")
    left.invert_xaxis()
    left.legend(fontsize=8)
    right.loglog(d_fake, [r["minimax"] / r["non_saturating"] for r in rows], "o-", label="measured ratio")
    right.loglog(d_fake, [d / (1 - d) for d in d_fake], "k--", label="D / (1 - D)")
    right.set(xlabel="mean D(G(z))", ylabel="minimax / non-saturating")
    right.invert_xaxis()
    right.legend(fontsize=8)
    save(fig, path)


def plot_js_vs_wasserstein(result: dict, path: Path) -> None:
    rows = result["rows"]
    thetas = torch.linspace(-2, 2, 401)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    left.plot(thetas, thetas.abs(), label="W1 = |theta|")
    for side, label in ((thetas < 0, "JS: log 2 for theta != 0, 0 at theta = 0"), (thetas > 0, None)):
        left.plot(thetas[side], torch.full((int(side.sum()),), math.log(2)), color="C1", label=label)
    left.plot([0], [0], "o", color="C1")
    left.set(xlabel="theta (distance between the lines)", ylabel="true value")
    left.legend(fontsize=8)
    w1 = [r["w1"] for r in rows]
    right.plot([0, max(w1)], [0, max(w1)], "k--", lw=1, label="estimate = W1")
    right.plot(w1, [r["gradient_penalty"] for r in rows], "o-", label="WGAN-GP critic")
    right.plot(w1, [r["clipping"] / result["clip_scale"] for r in rows], "s-",
               label=f"clipped critic / {result['clip_scale']:.2g}")
    right.set(xlabel="true W1", ylabel="critic's E f(P_0) - E f(P_theta)")
    right.legend(fontsize=8)
    save(fig, path)


def plot_momentum(result: dict, path: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    target = mixture(*TARGET)
    for run in result["runs"]:
        colour = "C0" if run["optimizer"] == "rmsprop" else "C3"
        label = run["optimizer"] if run["seed"] == 0 else None
        stride = run["w1_curve"][-1][0] / len(run["estimates"])  # train steps per stored estimate
        skip = len(run["estimates"]) // 20  # the untrained critic's first values would set the scale
        steps = (torch.arange(skip, len(run["estimates"])) * stride).tolist()
        axes[0].plot(steps, run["estimates"][skip:], color=colour, lw=0.5, alpha=0.7, label=label)
        axes[1].plot(*zip(*run["w1_curve"]), "o-", color=colour, ms=3, label=label)
        if run["seed"] == 0:
            centres = torch.linspace(-3, 3, 121)[:-1] + 0.025
            axes[2].step(centres, torch.tensor(run["histogram"]) / sum(run["histogram"]) / 0.05, color=colour,
                         where="mid", label=f"{run['optimizer']} (seed 0)")
    x = torch.linspace(-3, 3, 601)
    axes[2].plot(x, target.log_prob(x).exp(), "k--", lw=1, label="target")
    axes[0].set(xlabel="train step", ylabel="critic's W estimate")
    axes[1].set(xlabel="train step", ylabel="exact W1(samples, target)", yscale="log")
    axes[2].set(xlabel="x", ylabel="density")
    for ax in axes:
        ax.legend(fontsize=8)
    save(fig, path)


def save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


# --- the report -----------------------------------------------------------------------------------------
def verdicts(results: dict) -> list[str]:
    one, two, three, four = (results[k] for k in ("optimal_discriminator", "saturation", "js_vs_wasserstein", "momentum"))
    rms, adam = four["summary"]["rmsprop"], four["summary"]["adam"]

    def mark(check: dict) -> str:
        return "PASS" if check["passed"] else "FAIL"

    return [
        f"{mark(one)} optimal discriminator: max |D - p/(p+p_g)| = {one['max_abs_error']:.3f} (< {one['tolerance']}), "
        f"mean {one['mean_abs_error']:.3f}; loss_d {one['loss_d']:.4f} vs minimum log 4 - 2 JS = {one['loss_d_minimum']:.4f}",
        f"{mark(two)} saturation: at D(G(z)) = {two['d_fake']:.1e} the minimax gradient is {two['ratio']:.1e} x the "
        f"non-saturating one (< {two['threshold']:.0e})",
        f"{mark(three)} JS vs W1: JS = log 2 at every theta; clipped critic Spearman {three['clip_spearman']:.3f} "
        f"(> 0.95; max relative error {three['clip_relative_error']:.1%} after one fitted scale "
        f"{three['clip_scale']:.3g}); WGAN-GP Spearman {three['gp_spearman']:.3f} (> 0.95), max relative error "
        f"{three['gp_relative_error']:.1%} (< 20%)",
        f"{mark(four)} WGAN RMSProp vs Adam: exact W1 {rms['w1']:.3f} vs {adam['w1']:.3f}, high quality "
        f"{rms['high_quality']:.1%} vs {adam['high_quality']:.1%}, W estimate std (last 20%) "
        f"{rms['estimate_std']:.1e} vs {adam['estimate_std']:.1e}",
    ]


CHECKS = {
    "optimal_discriminator": (optimal_discriminator, plot_optimal_discriminator),
    "saturation": (saturation, plot_saturation),
    "js_vs_wasserstein": (js_vs_wasserstein, plot_js_vs_wasserstein),
    "momentum": (momentum, plot_momentum),
}


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def run(budget: Budget, out: Path, seed: int = 0) -> dict:
    """Every check, its figure in ``out``; returns the report (also written to out/theory.json)."""
    out.mkdir(parents=True, exist_ok=True)
    report = {"machine": {"cpu": cpu_model(), "threads": torch.get_num_threads(),
                          "matmul_peak_fp32_gflops": matmul_peak(torch.float32, 1024, 5) / 1e9},
              "torch": torch.__version__, "gankit": gankit.__version__, "budget": asdict(budget), "checks": {}}
    for name, (check, plot) in CHECKS.items():
        torch.manual_seed(seed)
        started = time.perf_counter()
        report["checks"][name] = check(budget)
        report["checks"][name]["wall_s"] = time.perf_counter() - started
        plot(report["checks"][name], out / f"{name}.png")
    report["verdicts"] = verdicts(report["checks"])
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small budgets: checks that the script runs (~30 s)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "theory")
    parser.add_argument("--replot", action="store_true", help="redraw the figures from OUT/theory.json, no training")
    args = parser.parse_args()
    if args.replot:
        checks = json.loads((args.out / "theory.json").read_text())["checks"]
        for name, (_, plot) in CHECKS.items():
            plot(checks[name], args.out / f"{name}.png")
        return
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    report = {"command": " ".join(["python", "benchmarks/theory.py", *sys.argv[1:]]),
              "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              **run(QUICK if args.quick else Budget(), args.out)}
    report["wall_s"] = time.perf_counter() - started
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    (args.out / "theory.json").write_text(json.dumps(report, indent=1) + "\n")
    print("\n".join(report["verdicts"]))
    print(f"{report['wall_s']:.0f} s, peak memory {report['peak_rss_mb']:.0f} MB; figures and theory.json in {args.out}")


if __name__ == "__main__":
    main()
