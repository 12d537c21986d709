"""Metrics of unpaired translation (Zhu et al. 2017, "Unpaired Image-to-Image
Translation using Cycle-Consistent Adversarial Networks"): the cycle
reconstruction L1 in both directions; FID and KID of the translations against
the target domain's real images, each beside its real-vs-real floor; and label
preservation, the share of translations that a classifier of the target domain
gives the source image's label (the paper's FCN-score idea with a digit
classifier instead of an FCN). The classifiers are the ones gankit trains and
caches for the ``classifier`` features (``gankit features train``).

    values = cycle_l1(model, a, b)                     # {"cycle_l1_a": ..., "cycle_l1_b": ...}
    judge = load_classifier(DataConfig(spec="mnist", image_size=28))
    share = label_preservation(model, x_digits, y_digits, judge, "a2b")
"""

from __future__ import annotations


import torch
from torch import Tensor

from gankit.capabilities import Translator
from gankit.data.dataset import TwoDomainData
from gankit.errors import GankitError, note
from gankit.metrics.features.classifier import ClassifierFeatures, load_classifier
from gankit.metrics.fid import frechet_distance, kernel_distance, kid_subset_size
from gankit.metrics.samples import FLOOR_SUFFIX, ModelMetric

BATCH = 64  # images per forward pass when evaluating
MAX_CYCLE_EXAMPLES = 500  # per domain: enough for a stable mean, seconds on a CPU


def _batched(fn, x: Tensor) -> Tensor:
    return torch.cat([fn(chunk) for chunk in x.split(BATCH)])


def _domains(data) -> tuple[tuple[str, object, object], ...]:
    a, b = data.parts
    return ("a2b", a, b), ("b2a", b, a)


@torch.no_grad()
def cycle_l1(model, a: Tensor, b: Tensor) -> dict[str, float]:
    """Mean |F(G(a)) - a| and |G(F(b)) - b| over all pixels, on the [-1, 1] scale."""
    rec_a = _batched(lambda x: model.cycle(x, "a2b")[1].cpu(), a)
    rec_b = _batched(lambda x: model.cycle(x, "b2a")[1].cpu(), b)
    return {"cycle_l1_a": (rec_a - a.cpu()).abs().mean().item(), "cycle_l1_b": (rec_b - b.cpu()).abs().mean().item()}


@torch.no_grad()
def translate(model, x: Tensor, direction: str) -> Tensor:
    return _batched(lambda chunk: model.translate(chunk, direction).float().cpu(), x)


@torch.no_grad()
def predictions(judge: ClassifierFeatures, x: Tensor) -> Tensor:
    """The judge's label for each image of x [N, ...]: [N] on the CPU."""
    return _batched(lambda chunk: judge.probs(chunk).argmax(1).cpu(), x)


def accuracy(judge: ClassifierFeatures, x: Tensor, y: Tensor) -> float:
    return (predictions(judge, x) == y.cpu()).float().mean().item()


def per_class(judge: ClassifierFeatures, x: Tensor, y: Tensor) -> dict[int, dict]:
    """For each true label: how many images, the share the judge labels correctly, and the label
    it most often gives instead (with its count), to show where label preservation fails."""
    predicted, y = predictions(judge, x), y.cpu()
    rows = {}
    for label in y.unique().tolist():
        mine = predicted[y == label]
        wrong = torch.bincount(mine[mine != label])  # [labels] counts of each wrong reading
        top = wrong.argmax().item() if wrong.sum() else None
        rows[label] = {"count": len(mine), "share": (mine == label).float().mean().item(),
                       "most_common_wrong": top, "most_common_wrong_count": int(wrong[top]) if top is not None else 0}
    return rows


def label_preservation(model, x: Tensor, y: Tensor, judge: ClassifierFeatures, direction: str) -> float:
    """Share of ``model.translate(x, direction)`` that ``judge`` (of the target domain) labels ``y``."""
    return accuracy(judge, translate(model, x, direction), y)


def translation_distances(
    translated: Tensor, target_real: Tensor, judge: ClassifierFeatures, *, seed: int = 0
) -> dict[str, float]:
    """FID and KID of ``translated`` [N, ...] against N real target images, and the floor: the same
    between those and N other real target images (``target_real`` holds at least 2N)."""
    n = translated.shape[0]
    if target_real.shape[0] < 2 * n:
        raise GankitError(f"the floor needs {2 * n} real target images, got {target_real.shape[0]}")
    features = lambda x: _batched(judge.features, x).cpu()  # noqa: E731
    real, other, fake = features(target_real[:n]), features(target_real[n : 2 * n]), features(translated)
    size = kid_subset_size(real, fake)
    kid, kid_std = kernel_distance(real, fake, subset_size=size, seed=seed)
    kid_floor, _ = kernel_distance(real, other, subset_size=size, seed=seed)
    return {"fid": frechet_distance(real, fake), "fid" + FLOOR_SUFFIX: frechet_distance(real, other),
            "kid_mean": kid, "kid_mean" + FLOOR_SUFFIX: kid_floor, "kid_std": kid_std}


def translates_two_domains(model, data) -> bool:
    """What the translation metrics apply to: a translator and data of two domains."""
    return isinstance(model, Translator) and isinstance(data, TwoDomainData)


class CycleConsistency(ModelMetric):
    """Cycle reconstruction L1 both ways, for translation models on unpaired data."""

    name = "cycle"

    def applies_to(self, model, data) -> bool:
        return translates_two_domains(model, data)

    def compute(self, model, data, *, num_samples: int = 2500, seed: int = 0) -> dict[str, float]:
        from gankit.data import preview_grid  # a seeded random selection, in memory or streamed

        n = min(num_samples, MAX_CYCLE_EXAMPLES)
        a, b = (preview_grid(part, n, seed=seed) for part in data.parts)
        return cycle_l1(model, a, b)


class TranslationFID(ModelMetric):
    """FID and KID of translations in each direction against the target domain, with the target
    domain's cached classifier features, beside the real-vs-real floor; a direction whose target
    has no cached classifier is skipped with a warning that says how to train one."""

    name = "translation_fid"

    def applies_to(self, model, data) -> bool:
        return translates_two_domains(model, data)

    def compute(self, model, data, *, num_samples: int = 2500, seed: int = 0) -> dict[str, float]:
        from gankit.data import preview_grid

        values = {}
        for direction, source, target in _domains(data):
            if not target.class_names:  # the judge is a classifier of the target domain
                note(f"no FID/KID for {direction} translations: {target.name} has no class labels to train "
                     "the classifier that judges them on (the cycle metric still applies)")
                continue
            try:
                judge = load_classifier(None, target).to(torch.device("cpu"))
            except GankitError as error:
                note(f"no FID/KID for {direction} translations: {error}")
                continue
            n = min(num_samples, len(source), len(target) // 2)
            translated = translate(model, preview_grid(source, n, seed=seed), direction)
            scores = translation_distances(translated, preview_grid(target, 2 * n, seed=seed + 1), judge, seed=seed)
            # fid_a2b, fid_a2b_floor, ...: the floor keeps the suffix last, as the evaluator prints it.
            for key, value in scores.items():
                base, floor, _ = key.partition(FLOOR_SUFFIX)
                values[f"{base}_{direction}{floor}"] = value
        return values
