"""Benchmark: CycleGAN between scikit-learn's 8x8 digits (framed like MNIST: fit into a
20 px box centred in 28 px) and MNIST, unpaired. Label preservation of digits -> MNIST
translations judged by gankit's MNIST classifier (target >= 90%), beside the same judge on
the untranslated digits; FID/KID of the translations in both directions with the target
domain's classifier features, beside the real-vs-real floor; cycle L1.

    PYTHONPATH=src:. python benchmarks/cyclegan_digits_mnist.py --steps 10000
    PYTHONPATH=src:. python benchmarks/cyclegan_digits_mnist.py --evaluate-only   # judge the trained run again
    PYTHONPATH=src:. python benchmarks/cyclegan_digits_mnist.py --summary         # one row per stored run
    # -> docs/benchmarks/cyclegan_digits_mnist.{json,md}, docs/figures/cyclegan_digits_mnist.png
"""

from __future__ import annotations

import argparse
import datetime
import json
import resource
import shutil
import time
from dataclasses import replace
from pathlib import Path

import torch

import gankit
from gankit.config import DataConfig
from gankit.data import load_data
from gankit.errors import GankitError
from gankit.metrics.features.classifier import load_classifier, train_classifier
from gankit.metrics.translation import accuracy, cycle_l1, label_preservation, per_class, translate, translation_distances
from gankit.report.plots import save_image_grid

ROOT = Path(__file__).resolve().parents[1]
# "small" (the default, stated with the results) fits a CPU core; "paper" has the paper's widths
# (64 channels, 6 residual blocks). No flips in either: a mirrored 2 is not a 2.
NETWORKS = {
    "small": {"model.g_width": 32, "model.blocks": 3, "model.d_width": 32, "model.d_layers": 2, "model.flip": False},
    "paper": {"model.g_width": 64, "model.blocks": 6, "model.d_width": 64, "model.d_layers": 2, "model.flip": False},
}
SIZE, BOX = 28, 20  # MNIST's own framing: digits fit into 20x20, centred in 28x28


def judge(config: DataConfig, epochs: int):
    """gankit's cached classifier for ``config`` (the `classifier` features), trained once if missing."""
    try:
        return load_classifier(config)
    except GankitError:
        return train_classifier(config, epochs=epochs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    parser.add_argument("--steps", type=int, default=10000)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--classifier-epochs", type=int, default=3, help="when a judge is not cached yet")
    parser.add_argument("--out", default=str(ROOT / "runs" / "bench-cyclegan-digits-mnist"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--network", choices=sorted(NETWORKS), default="small", help="network widths (see NETWORKS)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override after the benchmark's own (repeatable), e.g. model.identity_weight=1.0")
    parser.add_argument("--evaluate-only", action="store_true", help="reuse the run in --out and its training time")
    parser.add_argument("--tag", default="", help="suffix of the result and figure files (to keep several runs)")
    parser.add_argument("--summary", action="store_true", help="print one table row per stored run (all tags) and exit")
    args = parser.parse_args()
    if args.summary:
        print(summary(sorted((ROOT / "docs" / "benchmarks").glob("cyclegan_digits_mnist*.json"))))
        return
    torch.set_num_threads(args.threads)
    digits_config = DataConfig(spec="digits", image_size=SIZE, box=BOX)
    mnist_config = DataConfig(spec=f"mnist:{args.mnist}", image_size=SIZE)
    spec = f"unpaired:digits[box={BOX}],mnist:{args.mnist}"
    out = ROOT / "docs" / "benchmarks"
    previous = None
    if args.evaluate_only:
        previous = json.loads((out / f"cyclegan_digits_mnist{args.tag}.json").read_text())
        args.steps, args.batch_size, train_seconds = previous["steps"], previous["batch_size"], previous["train_minutes"] * 60
        args.network = next(name for name, network in NETWORKS.items() if network == previous["network"])
        args.set = previous.get("settings", [])
        args.threads = previous["threads"]  # the training's; evaluation is a small share of the time
        run_dir = Path(args.out)
    else:
        run_dir, train_seconds = train(args, spec)
    model = gankit.load(run_dir)

    def split(config: DataConfig, name: str):
        data = load_data(replace(config, split=name))
        return data.x, data.y

    digits_x, digits_y = split(digits_config, "test")
    digits_train_x, _ = split(digits_config, "train")
    mnist_x, mnist_y = split(mnist_config, "test")
    mnist_test = mnist_x[:2000], mnist_y[:2000]  # a fixed slice keeps the CPU time small
    start = time.time()
    mnist_judge, digits_judge = judge(mnist_config, args.classifier_epochs), judge(digits_config, args.classifier_epochs)
    classifier_seconds = time.time() - start
    n_b2a = len(digits_train_x) // 2  # the floor needs two disjoint real halves of the target
    digits_to_mnist = translate(model, digits_x, "a2b")  # used by several metrics below
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "spec": spec, "image_size": SIZE, "steps": args.steps, "batch_size": args.batch_size, "network": NETWORKS[args.network], "settings": args.set,
        "threads": args.threads, "torch": torch.__version__,
        "train_minutes": train_seconds / 60, "classifier_minutes": classifier_seconds / 60,
        "test_digits": len(digits_y), "test_mnist": len(mnist_test[1]),
        "mnist_judge_accuracy_on_mnist_test": accuracy(mnist_judge, *mnist_test),
        "digits_judge_accuracy_on_digits_test": accuracy(digits_judge, digits_x, digits_y),
        "label_preservation_digits_to_mnist": accuracy(mnist_judge, digits_to_mnist, digits_y),
        "identity_baseline_digits_to_mnist": accuracy(mnist_judge, digits_x, digits_y),
        # Where digits -> MNIST loses labels: per true digit, translated and untranslated.
        "per_class_digits_to_mnist": per_class(mnist_judge, digits_to_mnist, digits_y),
        "per_class_identity_digits_to_mnist": per_class(mnist_judge, digits_x, digits_y),
        "label_preservation_mnist_to_digits": label_preservation(model, *mnist_test, digits_judge, "b2a"),
        "identity_baseline_mnist_to_digits": accuracy(digits_judge, *mnist_test),
        # FID/KID: translations against real images of the target domain (test digits -> MNIST test;
        # MNIST test -> the digits' train split, the larger one), with the target's features.
        "a2b": translation_distances(digits_to_mnist, mnist_test[0], mnist_judge),
        "b2a": translation_distances(translate(model, mnist_test[0][:n_b2a], "b2a"), digits_train_x, digits_judge),
        **cycle_l1(model, digits_x, mnist_test[0]),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if previous is not None:  # the training process's peak and date stand; this is a re-evaluation
        results["peak_rss_mb"] = max(results["peak_rss_mb"], previous["peak_rss_mb"])
        results["evaluated"], results["date"] = results["date"], previous["date"]
    k = 12
    rows = [digits_x[:k], *model.cycle(digits_x[:k], "a2b"), mnist_x[:k], *model.cycle(mnist_x[:k], "b2a")]
    figure = save_image_grid(torch.cat(rows), ROOT / "docs" / "figures" / f"cyclegan_digits_mnist{args.tag}.png", nrow=k)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"cyclegan_digits_mnist{args.tag}.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / f"cyclegan_digits_mnist{args.tag}.md").write_text(markdown(results, figure.relative_to(ROOT / "docs")))
    print(json.dumps(results, indent=2))


def train(args: argparse.Namespace, spec: str) -> tuple[Path, float]:
    shutil.rmtree(args.out, ignore_errors=True)
    start = time.time()
    overrides = {**NETWORKS[args.network], "data.image_size": SIZE, "model.constant_steps": args.steps // 2,
                 "model.decay_steps": args.steps - args.steps // 2, "train.sample_every": 500,
                 "train.checkpoint_every": 1000, "train.log_every": 50, "train.num_preview": 36}
    overrides.update(setting.split("=", 1) for setting in args.set)  # strings: parsed like --set
    run = gankit.train("cyclegan", data=spec, steps=args.steps, batch_size=args.batch_size, out=args.out,
                       overrides=overrides, progress=False)
    return run.run_dir, time.time() - start


def kept(r: dict) -> int:
    """Test digits whose label survived digits -> MNIST (a count: 324 of 360 is exactly 90%)."""
    return round(r["label_preservation_digits_to_mnist"] * r["test_digits"])


def summary(paths: list[Path]) -> str:
    """One row per stored run, fewest steps first: the numbers that change with training length."""
    runs = sorted((json.loads(path.read_text()) | {"file": path.name} for path in paths), key=lambda r: (r["steps"], r.get("settings", [])))
    lines = ["| steps | overrides | label preservation digits -> MNIST | MNIST -> digits | FID -> MNIST (floor) | "
             "cycle L1 digits / MNIST | training | run | results |", "|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(
            f"| {r['steps']:,} | {' '.join(f'`{x}`' for x in r.get('settings', [])) or 'none'} | "
            f"**{r['label_preservation_digits_to_mnist']:.1%}** ({kept(r)} of {r['test_digits']}) | "
            f"{r['label_preservation_mnist_to_digits']:.1%} | {r['a2b']['fid']:.1f} ({r['a2b']['fid_floor']:.1f}) | "
            f"{r['cycle_l1_a']:.3f} / {r['cycle_l1_b']:.3f} | {r['train_minutes']:.0f} min, {r['threads']} thread(s) | {r['date']} | "
            f"[{r['file'].removesuffix('.json')}.md](benchmarks/{r['file'].removesuffix('.json')}.md) |"
        )
    return "\n".join(lines)


def per_class_rows(r: dict) -> str:
    def instead(row: dict) -> str:
        return f"{row['most_common_wrong']} ({row['most_common_wrong_count']})" if row["most_common_wrong"] is not None else ""

    translated, untranslated = r["per_class_digits_to_mnist"], r["per_class_identity_digits_to_mnist"]
    return "\n".join(
        f"| {label} | {row['count']} | {row['share']:.1%} | {instead(row)} | {untranslated[label]['share']:.1%} | "
        f"{instead(untranslated[label])} |"
        for label, row in translated.items()
    )


def markdown(r: dict, figure: Path) -> str:
    target = "meets" if 10 * kept(r) >= 9 * r["test_digits"] else "misses"
    a, b = r["a2b"], r["b2a"]
    return f"""| | digits -> MNIST (A -> B) | MNIST -> digits (B -> A) |
|---|---|---|
| label preservation (classifier of the target domain) | **{r['label_preservation_digits_to_mnist']:.1%}** | {r['label_preservation_mnist_to_digits']:.1%} |
| same classifier on the untranslated inputs (identity baseline) | {r['identity_baseline_digits_to_mnist']:.1%} | {r['identity_baseline_mnist_to_digits']:.1%} |
| FID of translations vs target (floor: real vs real) | {a['fid']:.2f} ({a['fid_floor']:.2f}) | {b['fid']:.2f} ({b['fid_floor']:.2f}) |
| KID of translations vs target (floor) | {a['kid_mean']:.4f} ({a['kid_mean_floor']:.4f}) | {b['kid_mean']:.4f} ({b['kid_mean_floor']:.4f}) |
| cycle L1 (mean abs. error on [-1, 1]) | {r['cycle_l1_a']:.4f} | {r['cycle_l1_b']:.4f} |
| test images | {r['test_digits']} digits (test split) | {r['test_mnist']} (first of MNIST t10k) |

Label preservation {target} the 90% target. Judges: gankit's `classifier` features, trained on MNIST's training
split ({r['mnist_judge_accuracy_on_mnist_test']:.1%} on the MNIST test images above) and on the
framed digits' training split ({r['digits_judge_accuracy_on_digits_test']:.1%} on the digits test split);
FID/KID use the same networks' features. Generators {r['network']['model.g_width']} channels, {r['network']['model.blocks']}
residual blocks; discriminators {r['network']['model.d_layers']} layers, {r['network']['model.d_width']} channels.
{f"Overrides: `{' '.join(r['settings'])}`. " if r.get('settings') else ""}
Training: {r['steps']} steps at batch {r['batch_size']}
({r['train_minutes']:.1f} min), judges {r['classifier_minutes']:.1f} min (0 when cached); peak memory
{r['peak_rss_mb']:.0f} MB; torch {r['torch']}, {r['threads']} thread{"s" if r['threads'] > 1 else ""}; {r['date']}{f" (evaluated again {r['evaluated']})" if "evaluated" in r else ""}.

Per digit, digits -> MNIST (the MNIST judge's reading; "instead": the label it gave most often
when wrong, with the count):

| digit | test images | kept by the translation | instead | judge on the untranslated digit | instead |
|---|---|---|---|---|---|
{per_class_rows(r)}

![digits to MNIST and back, MNIST to digits and back]({figure})

Rows: test digits, their MNIST-style translations, the reconstructions; then MNIST test images,
their translations to the digits' style, the reconstructions.
"""


if __name__ == "__main__":
    main()
