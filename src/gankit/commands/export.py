"""``gankit export``: a run's job as an ONNX or TorchScript file with a JSON sidecar (docs/deploy.md)."""

from __future__ import annotations

import argparse

from gankit.commands import Verb

EXAMPLES = """examples:
  gankit export runs/g3 --format onnx --out detector.onnx        # + detector.onnx.json (contract, threshold, sha256)
  gankit export runs/style --format torchscript --out style.pt   # inputs z and psi
  gankit export runs/facades --format onnx --out facades.onnx    # facades-a2b.onnx and facades-b2a.onnx
  gankit export runs/tile-patches --format onnx --out tiles.onnx # trained on patches: scores tiles; deploy/serve stitch
  python -m gankit.deploy detector.onnx photos/ --out scores.csv --maps maps/   # no training stack needed"""


def arguments(export: argparse.ArgumentParser) -> None:
    export.add_argument("run", help="run directory")
    # No argparse choices: an unknown format gets gankit's one-line error, like every other bad input.
    export.add_argument("--format", required=True, help="onnx or torchscript")
    export.add_argument("--out", required=True, metavar="FILE", help="the exported file; FILE.json is its sidecar")
    export.add_argument("--checkpoint", help="a checkpoint file instead of the run's latest")
    export.add_argument("--threshold", type=float, default=0.5,
                        help="detectors: the decision threshold embedded, in normalised units (default 0.5)")


def run(args: argparse.Namespace) -> int:
    from gankit.export import export_run, sidecar_path

    for path in export_run(args.run, args.format, args.out, checkpoint=args.checkpoint, threshold=args.threshold):
        print(f"wrote {path} and {sidecar_path(path)}")
    return 0


VERB = Verb("export", "Export a run's job to ONNX or TorchScript with a JSON sidecar (docs/deploy.md).",
            EXAMPLES, arguments, run)
