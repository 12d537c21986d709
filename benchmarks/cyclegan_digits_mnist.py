"""Benchmark: CycleGAN between scikit-learn's 8x8 digits (upscaled to 28 px) and MNIST,
unpaired; label preservation of digits -> MNIST translations judged by an MNIST
classifier (target >= 90%), beside the same classifier on the untranslated digits.

    PYTHONPATH=src:. python benchmarks/cyclegan_digits_mnist.py --steps 2000
    PYTHONPATH=src:. python benchmarks/cyclegan_digits_mnist.py --evaluate-only   # judge the trained run again
    # -> docs/benchmarks/cyclegan_digits_mnist.{json,md}, docs/figures/cyclegan_digits_mnist.png
"""

from __future__ import annotations

import argparse
import datetime
import json
import resource
import shutil
import time
from pathlib import Path

import torch

import gankit
from gankit.config import DataConfig
from gankit.data import load_data
from gankit.metrics.translation import accuracy, cycle_l1, fit_classifier, label_preservation
from gankit.report.plots import save_image_grid

ROOT = Path(__file__).resolve().parents[1]
# Stated for the benchmark: narrower nets than the paper's (64 channels, 6 blocks) to fit a shared CPU.
NETWORK = {"model.g_width": 32, "model.blocks": 3, "model.d_width": 32, "model.d_layers": 2, "model.flip": False}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--classifier-steps", type=int, default=1500)
    parser.add_argument("--out", default=str(ROOT / "runs" / "bench-cyclegan-digits-mnist"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--evaluate-only", action="store_true", help="reuse the run in --out and its training time")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    spec = f"unpaired:digits,mnist:{args.mnist}"
    out = ROOT / "docs" / "benchmarks"
    previous = None
    if args.evaluate_only:
        previous = json.loads((out / "cyclegan_digits_mnist.json").read_text())
        args.steps, args.batch_size, train_seconds = previous["steps"], previous["batch_size"], previous["train_minutes"] * 60
        run_dir = Path(args.out)
    else:
        run_dir, train_seconds = train(args, spec)
    model = gankit.load(run_dir)

    def test_set(part: str, split: str = "test"):
        data = load_data(DataConfig(spec=part, image_size=28, split=split))
        return data.x, data.y

    digits_x, digits_y = test_set("digits")
    mnist_x, mnist_y = test_set(f"mnist:{args.mnist}")
    start = time.time()
    mnist_train = test_set(f"mnist:{args.mnist}", "train")
    mnist_classifier = fit_classifier(*mnist_train, classes=10, steps=args.classifier_steps)
    # Translations keep the source's framing (sklearn digits fill the frame, MNIST digits sit in a
    # 20 px box): a second MNIST judge trained with random zoom up to 1.5x judges shape, not size.
    mnist_zoom_classifier = fit_classifier(*mnist_train, classes=10, steps=args.classifier_steps, zoom=1.5)
    digits_classifier = fit_classifier(*test_set("digits", "train"), classes=10, steps=args.classifier_steps)
    classifier_seconds = time.time() - start
    mnist_test = mnist_x[:2000], mnist_y[:2000]  # a fixed slice keeps the CPU time small
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "spec": spec, "steps": args.steps, "batch_size": args.batch_size, "network": NETWORK,
        "threads": args.threads, "torch": torch.__version__,
        "train_minutes": train_seconds / 60, "classifier_minutes": classifier_seconds / 60,
        "test_digits": len(digits_y), "test_mnist": len(mnist_test[1]),
        "mnist_classifier_accuracy_on_mnist_test": accuracy(mnist_classifier, *mnist_test),
        "mnist_zoom_classifier_accuracy_on_mnist_test": accuracy(mnist_zoom_classifier, *mnist_test),
        "digits_classifier_accuracy_on_digits_test": accuracy(digits_classifier, digits_x, digits_y),
        "label_preservation_digits_to_mnist": label_preservation(model, digits_x, digits_y, mnist_classifier, "a2b"),
        "identity_baseline_digits_to_mnist": accuracy(mnist_classifier, digits_x, digits_y),
        "label_preservation_digits_to_mnist_zoom_judge": label_preservation(
            model, digits_x, digits_y, mnist_zoom_classifier, "a2b"
        ),
        "identity_baseline_digits_to_mnist_zoom_judge": accuracy(mnist_zoom_classifier, digits_x, digits_y),
        "label_preservation_mnist_to_digits": label_preservation(model, *mnist_test, digits_classifier, "b2a"),
        "identity_baseline_mnist_to_digits": accuracy(digits_classifier, *mnist_test),
        **cycle_l1(model, digits_x, mnist_test[0]),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if previous is not None:  # the training process's peak counts too
        results["peak_rss_mb"] = max(results["peak_rss_mb"], previous["peak_rss_mb"])
    k = 12
    rows = [digits_x[:k], *model.cycle(digits_x[:k], "a2b"), mnist_x[:k], *model.cycle(mnist_x[:k], "b2a")]
    figure = save_image_grid(torch.cat(rows), ROOT / "docs" / "figures" / "cyclegan_digits_mnist.png", nrow=k)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cyclegan_digits_mnist.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "cyclegan_digits_mnist.md").write_text(markdown(results, figure.relative_to(ROOT / "docs")))
    print(json.dumps(results, indent=2))


def train(args: argparse.Namespace, spec: str) -> tuple[Path, float]:
    shutil.rmtree(args.out, ignore_errors=True)
    start = time.time()
    overrides = {**NETWORK, "data.image_size": 28, "model.constant_steps": args.steps // 2,
                 "model.decay_steps": args.steps - args.steps // 2, "train.sample_every": 500,
                 "train.checkpoint_every": 1000, "train.log_every": 50, "train.num_preview": 36}
    run = gankit.train("cyclegan", data=spec, steps=args.steps, batch_size=args.batch_size, out=args.out,
                       overrides=overrides, progress=False)
    return run.run_dir, time.time() - start


def markdown(r: dict, figure: Path) -> str:
    target = "meets" if r["label_preservation_digits_to_mnist"] >= 0.9 else "misses"
    return f"""| | digits -> MNIST (A -> B) | MNIST -> digits (B -> A) |
|---|---|---|
| label preservation (classifier of the target domain) | **{r['label_preservation_digits_to_mnist']:.1%}** | {r['label_preservation_mnist_to_digits']:.1%} |
| same classifier on the untranslated inputs (identity baseline) | {r['identity_baseline_digits_to_mnist']:.1%} | {r['identity_baseline_mnist_to_digits']:.1%} |
| label preservation, MNIST judge trained with random zoom (up to 1.5x) | {r['label_preservation_digits_to_mnist_zoom_judge']:.1%} | |
| zoom judge on the untranslated digits (identity baseline) | {r['identity_baseline_digits_to_mnist_zoom_judge']:.1%} | |
| cycle L1 (mean abs. error on [-1, 1]) | {r['cycle_l1_a']:.4f} | {r['cycle_l1_b']:.4f} |
| test images | {r['test_digits']} digits (test split) | {r['test_mnist']} (first of MNIST t10k) |

Label preservation {target} the 90% target. Judges: a small CNN trained on MNIST's training
split ({r['mnist_classifier_accuracy_on_mnist_test']:.1%} on the MNIST test images above; the zoom judge
{r['mnist_zoom_classifier_accuracy_on_mnist_test']:.1%}) and one trained on
the digits' training split ({r['digits_classifier_accuracy_on_digits_test']:.1%} on the digits test split).
Training: {r['steps']} steps at batch {r['batch_size']} ({r['train_minutes']:.1f} min), classifiers
{r['classifier_minutes']:.1f} min; peak memory {r['peak_rss_mb']:.0f} MB; torch {r['torch']}, {r['threads']} thread; {r['date']}.

![digits to MNIST and back, MNIST to digits and back]({figure})

Rows: test digits, their MNIST-style translations, the reconstructions; then MNIST test images,
their translations to the digits' style, the reconstructions.
"""


if __name__ == "__main__":
    main()
