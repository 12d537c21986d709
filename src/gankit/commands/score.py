"""``gankit score``: score a test set with a trained anomaly detector (CSV, metrics, overlays)."""

from __future__ import annotations

import argparse
import sys
import warnings

from gankit.commands import Verb, class_list, positive, protocol_arguments
from gankit.outputs import output_file, output_folder

EXAMPLES = """examples:
  gankit train ganomaly --data mnist:../shared/data/mnist --set data.anomaly_classes=3 --out runs/g3
  gankit score runs/g3 --out scores.csv                   # the run's own protocol, its test part
  gankit score runs/g3 --out scores.csv --maps maps/ --quantile 0.95
  gankit score runs/tile --data magnetic-tile:../shared/data/magnetic-tile --out tile.csv --maps maps/
  gankit score runs/g3 --data mnist:../shared/data/mnist --anomaly-classes 5 --out five.csv"""


def arguments(score: argparse.ArgumentParser) -> None:
    score.add_argument("run", help="run directory of an anomaly detector (see 'gankit models')")
    score.add_argument(
        "--data", metavar="SPEC",
        help="test data (default: the run's own); defects:DIR | magnetic-tile:DIR | mnist[:DIR] etc. with classes",
    )
    protocol_arguments(score)
    score.add_argument("--out", metavar="CSV", default="scores.csv", help="per-image scores (default scores.csv); "
                       "metrics go to the same name with .json, ranked overlays to -most/-least-anomalous.png")
    score.add_argument("--maps", metavar="DIR", help="write one overlay PNG (image | reconstruction | map) per image")
    limit = score.add_mutually_exclusive_group()
    limit.add_argument("--threshold", type=float, help="decision threshold in normalised units (default 0.5, "
                       "which is the run's threshold_quantile of held-out normal scores)")
    limit.add_argument("--quantile", type=float, help="threshold at this quantile of held-out normal scores instead")
    score.add_argument("--batch-size", type=positive, help="images per scoring batch (default model.score_batch_size)")
    score.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")


def run(args: argparse.Namespace) -> int:
    normal_classes = class_list(args.normal_classes, "--normal-classes")
    anomaly_classes = class_list(args.anomaly_classes, "--anomaly-classes")
    output_file(args.out, {".csv"})
    if args.maps:
        output_folder(args.maps, "--maps")

    from gankit import api
    from gankit.metrics.anomaly import BASELINE_SUFFIX

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = api.score(
            args.run, data=args.data, out=args.out, maps=args.maps, threshold=args.threshold, quantile=args.quantile,
            normal_classes=normal_classes, anomaly_classes=anomaly_classes, batch_size=args.batch_size, device=args.device,
        )
    for warning in caught:
        print(f"gankit: warning: {warning.message}", file=sys.stderr)
    shown = {k: v for k, v in result.metrics.items() if not k.endswith(BASELINE_SUFFIX)}
    width = max(map(len, shown))
    for key, value in shown.items():
        baseline = result.metrics.get(key + BASELINE_SUFFIX)
        beside = "" if baseline is None else f"  (trivial baseline {baseline:.4g})"
        print(f"{key:<{width}}  {value:.4g}{beside}")
    if result.threshold_note:
        print(result.threshold_note)
    for kind, path in result.files.items():
        print(f"{kind}: {path}")
    return 0


VERB = Verb(
    "score",
    "Score the test part of an anomaly-detection protocol with a trained detector: writes a CSV of "
    "scores and decisions, metrics (image AUROC/AUPRC/best F1; pixel AUROC/AUPRO with masks) and overlays.",
    EXAMPLES, arguments, run,
)
