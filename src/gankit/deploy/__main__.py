"""``python -m gankit.deploy FILE ...``: an exported file's job on files, without the training stack.

    python -m gankit.deploy detector.onnx photos/ --out scores.csv --maps maps/
    python -m gankit.deploy facades-a2b.onnx labels/ --out photos/
    python -m gankit.deploy style.onnx --n 64 --seed 3 --psi 0.7 --out grid.png
"""

from __future__ import annotations

import argparse
import sys

from gankit.errors import GankitError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gankit.deploy", description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", help="an ONNX file written by 'gankit export' (its .json sidecar beside it)")
    parser.add_argument("inputs", nargs="*", metavar="INPUT", help="image files or folders (score, translate)")
    parser.add_argument("--out", required=True, help="score: a CSV; translate: a folder; sample: a PNG grid")
    parser.add_argument("--maps", metavar="DIR", help="score: one overlay PNG per image (image | reconstruction | map)")
    parser.add_argument("--threshold", type=float, help="score: decision threshold, normalised (default: the file's)")
    parser.add_argument("--n", type=int, default=64, help="sample: number of images (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="sample: seed of the latents (default 0)")
    parser.add_argument("--psi", type=float, default=1.0, help="sample: truncation psi (1 = off; StyleGAN files pull w, others z)")
    args = parser.parse_args(argv)
    from gankit.deploy import load, sample_files, score_folder, translate_folder

    try:
        model = load(args.file)
        if model.job != "sample" and not args.inputs:
            raise GankitError(f"a '{model.job}' file needs INPUT images or folders")
        if model.job == "score":
            rows = score_folder(model, args.inputs, args.out, maps=args.maps, threshold=args.threshold)
            print(f"scored {len(rows)} images ({sum(r['decision'] for r in rows)} anomalous) -> {args.out}")
        elif model.job == "translate":
            written = translate_folder(model, args.inputs, args.out)
            print(f"translated {len(written)} images ({model.info['direction']}) -> {args.out}")
        else:
            print(f"wrote {args.n} samples to {sample_files(model, args.out, n=args.n, seed=args.seed, psi=args.psi)}")
    except GankitError as error:
        print(f"gankit: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
