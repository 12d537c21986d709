"""``gankit features``: train, install or list the feature extractors behind FID, KID, PR and cls."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gankit.commands import Verb, positive
from gankit.errors import GankitError

EXAMPLES = """examples:
  gankit features train --data mnist:../shared/data/mnist            # 28 px, ~3 epochs, a few minutes on CPU
  gankit features train --data fashion-mnist:../shared/data/fashion-mnist --size 32
  gankit features list                                               # cached extractors and their test accuracy
  gankit features inception --weights weights-inception-2015-12-05-6726825d.pth
  gankit features inception --download                               # needs network access"""


def arguments(features: argparse.ArgumentParser) -> None:
    features.add_argument("action", choices=["train", "list", "inception"],
                          help="train: the classifier on a labelled data set; list: the cache; "
                               "inception: install the InceptionV3 weights")
    features.add_argument("--data", metavar="SPEC", help="labelled image data (train)")
    features.add_argument("--size", type=int, help="image size in pixels, as the runs use it (train)")
    features.add_argument("--channels", type=int, choices=[1, 3], help="1 = grey, 3 = RGB (train)")
    features.add_argument("--epochs", type=positive, help="training epochs (train; default 3, more for small data sets)")
    features.add_argument("--device", default="cpu", help="cpu (default), cuda or auto (train)")
    features.add_argument("--if-missing", action="store_true",
                          help="train only when no classifier for this data, size and channels is cached (train)")
    features.add_argument("--weights", metavar="FILE", help="a downloaded InceptionV3 weights file (inception)")
    features.add_argument("--download", action="store_true", help="download the InceptionV3 weights (inception)")


def run(args: argparse.Namespace) -> int:
    {"train": _train, "inception": _inception, "list": _list}[args.action](args)
    return 0


def _train(args: argparse.Namespace) -> None:
    if not args.data:
        raise GankitError("features train needs --data SPEC (a labelled image data set)")

    from gankit.config import DataConfig
    from gankit.metrics.features.classifier import cached_classifier, train_classifier
    from gankit.training.loop import resolve_device

    config = DataConfig(spec=args.data, image_size=args.size, channels=args.channels)
    cached = cached_classifier(config) if args.if_missing else None
    if cached:
        print(f"a classifier for {args.data} is cached: {cached}")
        return
    train_classifier(config, epochs=args.epochs, device=resolve_device(args.device))


def _inception(args: argparse.Namespace) -> None:
    if bool(args.weights) == args.download:
        raise GankitError("features inception needs exactly one of --weights FILE or --download")

    from gankit.metrics.features.inception import install_inception_weights

    path = install_inception_weights(Path(args.weights) if args.weights else None, download=args.download)
    print(f"InceptionV3 weights checked and installed at {path}")


def _list(args: argparse.Namespace) -> None:
    from gankit.metrics.features.cache import features_home
    from gankit.metrics.features.inception import find_weights

    infos = sorted(features_home().glob("classifier/*/classifier.json"))
    for path in infos:
        info = json.loads(path.read_text())
        print(f"classifier  {info['data']}  {info['image_size']} px  {info['channels']} ch  "
              f"test accuracy {info['test_accuracy']:.2%}  ({path.parent})")
    weights = find_weights()
    print(f"inception   {weights if weights else 'not installed (gankit features inception --help)'}")


VERB = Verb("features", "Train, install or list the feature extractors behind FID, KID, PR and cls.", EXAMPLES, arguments, run)
