"""``gankit eval``: score a trained run's samples against real data, each beside its real-vs-real floor."""

from __future__ import annotations

import argparse

from gankit.commands import Verb, positive, sample_options, seed
from gankit.errors import GankitError
from gankit.outputs import output_file
from gankit.rundir import RunDirectory

EXAMPLES = """examples:
  gankit eval runs/ring                   # mode coverage for toy mixtures, writes RUN/eval.json
  gankit eval runs/ring --n 2500 --seed 1
  gankit features train --data mnist:../shared/data/mnist          # once per data set and size
  gankit eval runs/mnist --metrics fid,kid,pr,cls --features classifier --n 10000
  gankit eval runs/mnist --data mnist:../shared/data/mnist --set data.split=test
  gankit eval runs/digits --metrics cls --truncation 0.8    # samples drawn as 'gankit sample --truncation' draws them

Every score is printed beside its floor: the same metric between two disjoint
halves of the real data with as many examples (a perfect generator's score)."""


def arguments(evaluate: argparse.ArgumentParser) -> None:
    evaluate.add_argument("run", help="run directory")
    evaluate.add_argument("--metrics", help="comma-separated: modes, fid, kid, pr, cls (default: all that apply)")
    evaluate.add_argument("--features", default="auto",
                          help="auto (default: a cached classifier, else cached InceptionV3), classifier or inception")
    evaluate.add_argument("--data", metavar="SPEC", help="real data to compare with (default: the run's own)")
    evaluate.add_argument(
        "--set", metavar="data.KEY=VALUE", action="append", default=[], dest="overrides",
        help="change the real data's settings, e.g. --set data.split=test (repeatable)",
    )
    evaluate.add_argument("--n", type=positive, help="samples to draw (default: the run's train.eval_samples, 2500)")
    evaluate.add_argument("--seed", type=seed, default=0, help="seed of the samples and the real halves (default 0)")
    evaluate.add_argument("--truncation", type=float, metavar="PSI",
                          help="judge samples drawn with this truncation psi (1 = off; models that take one)")
    evaluate.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")


def run(args: argparse.Namespace) -> int:
    for item in args.overrides:
        if not item.startswith("data."):
            raise GankitError(f"eval --set changes only data.* settings, not {item.split('=')[0]}")
    out = output_file(RunDirectory(args.run).evaluation, {".json"}, "the run's eval.json")

    from gankit import api
    from gankit.config import DataConfig, apply_overrides, from_dict
    from gankit.data import load_data
    from gankit.data.specs import check_given
    from gankit.capabilities import AnomalyScorer
    from gankit.metrics.evaluator import Evaluator, features_hint
    from gankit.report.html import write_report
    from gankit.training.loop import write_json

    model = api.load(args.run, device=args.device)
    options = sample_options(model, truncation=args.truncation)
    config = model.run_config
    raw = {"data": dict(vars(config.data), **({"spec": args.data} if args.data else {}))}
    data_config = from_dict(DataConfig, apply_overrides(raw, args.overrides)["data"], "data")
    given = apply_overrides({}, args.overrides).get("data") or {}  # the data.KEYs of --set
    data = load_data(check_given(data_config, given))
    if tuple(data.shape) != tuple(model.data_shape):
        raise GankitError(f"{data.name} gives examples of shape {tuple(data.shape)}, the run makes "
                          f"{tuple(model.data_shape)}; set data.image_size / data.channels to match")
    names = [n for n in args.metrics.split(",") if n.strip()] if args.metrics else config.train.eval_metrics
    if names == []:
        raise GankitError("the run sets train.eval_metrics to none; name the metrics with --metrics "
                          "(see 'gankit eval --help')")
    evaluator = Evaluator(data, data_config, model, names, num_samples=args.n or config.train.eval_samples,
                          seed=args.seed, features=args.features, sample_options=options)
    results = evaluator(model)
    detector = isinstance(model, AnomalyScorer)
    score_hint = f"{config.model_name} is an anomaly detector: score its test images with 'gankit score {args.run}'"
    if not results:
        raise GankitError(f"no metric applies to {config.model_name} on {data.name}; "
                          + (score_hint if detector else features_hint(data)))
    drawn = f" (truncation {args.truncation:g})" if options else ""
    print(f"{evaluator.num_samples} samples{drawn} vs {data.name}, features: {evaluator.features_name}")
    print_scores(results)
    write_json(out, evaluator.record(model.step, results))
    print(f"wrote {out}")
    print(f"updated {write_report(RunDirectory(args.run).path)}")
    if detector:
        print(f"note: {score_hint}")
    return 0


VERB = Verb("eval", "Evaluate a trained run; prints a table and writes RUN/eval.json.", EXAMPLES, arguments, run)


def print_scores(results: dict[str, float]) -> None:
    """Each score beside its floor (the same metric between two halves of the real data), as
    ``gankit eval`` and the end of ``gankit train`` print them."""
    from gankit.metrics.samples import FLOOR_SUFFIX, no_floor_reason, number

    scores = [k for k in results if not k.endswith(FLOOR_SUFFIX)]
    width = max(map(len, scores + ["metric"]))
    print(f"{'metric':<{width}}  {'value':>10}  {'floor':>10}  (floor: the same metric on real data, real vs real)")
    for key in scores:
        floor = results.get(key + FLOOR_SUFFIX)  # model metrics (e.g. cycle L1) have none
        floor_text = number(floor) if floor is not None else no_floor_reason(key)
        print(f"{key:<{width}}  {number(results[key]):>10}  {floor_text:>10}")
