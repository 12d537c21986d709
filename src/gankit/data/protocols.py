"""Anomaly-detection protocols: normal-only training data, held-out normal data for
calibration, and a labelled test set (with pixel masks when known).

Three sources: a labelled set split by class (``data.normal_classes`` /
``data.anomaly_classes`` on mnist, fashion-mnist, digits or a class folder),
as in "GANomaly" (Akcay et al. 2018) and "Efficient GAN-Based Anomaly
Detection" (Zenati et al. 2018); ``defects:DIR``, an MVTec-style layout
(``train/`` normal images, ``test/good`` and ``test/<defect>``, optional
``ground_truth/<defect>/<name>[_mask].png`` or ``masks/<defect>/<name>.*``);
and ``magnetic-tile:DIR`` ("Saliency of magnetic tile surface defects", Huang
et al.), with ``MT_<class>/Imgs/<name>.jpg`` and its mask ``<name>.png``
beside it. Normal images are split with a constant seed, so the test set is
the same for every run: 80% train side / 20% test, and the train side again
90% fit / 10% calibration. Nothing of the test part reaches training or
calibration.

A protocol arrives resolved (:mod:`gankit.data.kinds`): a ``LabelledProtocolSpec`` (the
labelled set's own spec and the class lists) or a ``FolderProtocolSpec``. The public entry
is :func:`gankit.data.anomaly.load_anomaly`; this module takes the plain loader
(``load_data`` of :mod:`gankit.data.specs`) as a parameter, because the labelled protocols
re-split a plain set and ``load_data`` itself dispatches protocols here: that way neither
module imports the other's caller.

    spec = resolve_spec(DataConfig(spec="mnist", anomaly_classes=[3]))
    fit = load_protocol(spec, "fit", load_data)                                   # nine digits, 72%
    test = load_protocol(spec, "test", load_data); test.is_anomaly.float().mean()  # 20% normal + all 3s
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.data.dataset import Data, existing_dir
from gankit.data.images import DECODE_ERRORS, IMAGE_EXTENSIONS, open_image, read_header, to_mode, to_signed
from gankit.data.kinds import FolderProtocolSpec, ImageSetSpec, LabelledProtocolSpec, Spec
from gankit.errors import GankitError

Part = Literal["fit", "calibration", "test"]
PARTS: tuple[Part, ...] = ("fit", "calibration", "test")
TEST_FRACTION = 0.2  # of the normal images (the GANomaly / EGBAD protocol)
CALIBRATION_FRACTION = 0.1  # of the train side: held-out normal images for threshold and normalisation
SPLIT_SEED = 0  # constant: the test set must not depend on the run's seed
DEFAULT_SIZE = 64  # folder protocols, when data.image_size is unset
NORMAL = "good"  # the kind name of normal images in folder protocols

PlainLoader = Callable[[ImageSetSpec], Data]  # loads a labelled set's own spec (gankit.data.specs.load_data)


@dataclass
class AnomalySet:
    """One part of a protocol: images with what is known about them."""

    data: Data  # images [N, C, H, W] in [-1, 1]
    kinds: list[str]  # per image: its class or defect name; normal images name their class or "good"
    is_anomaly: Tensor | None  # [N] bool; None when unlabelled
    masks: Tensor | None  # [N, 1, H, W] bool defect pixels; None when no masks are known
    names: list[str]  # per image: a file path or "<set>#<index>"

    def __len__(self) -> int:
        return len(self.data)

    def subset(self, indices: Tensor) -> AnomalySet:
        index = torch.as_tensor(indices, dtype=torch.long).reshape(-1)
        return AnomalySet(
            data=self.data.subset(index),
            kinds=[self.kinds[i] for i in index.tolist()],
            is_anomaly=None if self.is_anomaly is None else self.is_anomaly[index],
            masks=None if self.masks is None else self.masks[index],
            names=[self.names[i] for i in index.tolist()],
        )


def load_protocol(spec: Spec, part: Part, load_plain: PlainLoader) -> AnomalySet:
    """``part`` of the protocol that ``spec`` describes; ``load_plain`` loads the labelled set
    that a class protocol re-splits."""
    if part not in PARTS:
        raise GankitError(f"unknown protocol part {part!r}; valid: {', '.join(PARTS)}")
    if isinstance(spec, LabelledProtocolSpec):
        return _labelled(spec, part, load_plain)
    if not isinstance(spec, FolderProtocolSpec):
        raise GankitError(
            f"{spec.text!r} is no anomaly-detection protocol: set data.normal_classes or "
            "data.anomaly_classes (mnist, fashion-mnist, digits, folder:DIR) or use defects:DIR or magnetic-tile:DIR"
        )
    root = existing_dir(spec.folder, spec.text)
    return _load_files(FOLDER_PROTOCOLS[spec.prefix](root, part), spec, f"{spec.prefix}:{root}")


def load_protocol_data(spec: LabelledProtocolSpec | FolderProtocolSpec, load_plain: PlainLoader) -> Data:
    """What ``load_data`` returns for a protocol: the fit part for ``split=train``, the test part
    (labels = class or defect index) for ``split=test``."""
    return load_protocol(spec, "fit" if spec.split == "train" else "test", load_plain).data


# --- labelled sets ------------------------------------------------------------------------------
def _labelled(spec: LabelledProtocolSpec, part: Part, load_plain: PlainLoader) -> AnomalySet:
    # Both published splits are pooled, then re-split by the protocol (as GANomaly and EGBAD do).
    sets = [load_plain(replace(spec.images, split=split)) for split in ("train", "test")]
    base = sets[0]
    if not base.class_names:
        raise GankitError(f"{spec.text} has no class labels; the labelled protocols need them")
    x = torch.cat([s.x for s in sets]) if base.x is not None else None
    if x is None:
        raise GankitError(f"{spec.text} is too large for memory; raise data.max_memory_mb")
    y = torch.cat([s.y for s in sets])  # [N]
    pooled = replace(base, x=x, y=y, source=None)
    normal, anomalous = _class_roles(spec, base.class_names)
    normal_index = torch.isin(y, torch.tensor(normal)).nonzero().flatten()
    anomaly_index = torch.isin(y, torch.tensor(anomalous)).nonzero().flatten()
    chosen = _split(normal_index, part)
    if part == "test":
        chosen = torch.cat([chosen, anomaly_index]).sort().values
    if chosen.numel() == 0:
        raise GankitError(f"the {part} part of {spec.text} with normal classes {normal} is empty")
    subset = pooled.subset(chosen)
    return AnomalySet(
        data=subset,
        kinds=[base.class_names[c] for c in subset.y.tolist()],
        is_anomaly=torch.isin(subset.y, torch.tensor(anomalous)),
        masks=None,
        names=[f"{spec.text}#{i}" for i in chosen.tolist()],
    )


def _class_roles(spec: LabelledProtocolSpec, class_names: list[str]) -> tuple[list[int], list[int]]:
    every = list(range(len(class_names)))
    for name, classes in (("normal_classes", spec.normal_classes), ("anomaly_classes", spec.anomaly_classes)):
        unknown = sorted(set(classes or []) - set(every))
        if unknown:
            raise GankitError(f"data.{name} {unknown} not in {spec.text}; valid labels 0..{len(every) - 1}")
    normal = spec.normal_classes or [c for c in every if c not in (spec.anomaly_classes or [])]
    anomalous = spec.anomaly_classes or [c for c in every if c not in normal]
    if not normal or not anomalous:
        raise GankitError("the protocol needs at least one normal and one anomalous class")
    return sorted(normal), sorted(anomalous)


def _split(index: Tensor, part: Part) -> Tensor:
    """The ``part`` of ``index`` (normal examples) under the constant-seed protocol split."""
    order = index[torch.randperm(index.numel(), generator=torch.Generator().manual_seed(SPLIT_SEED))]
    train_side = order[: int(round(order.numel() * (1 - TEST_FRACTION)))]
    n_calibration = max(1, int(round(train_side.numel() * CALIBRATION_FRACTION)))
    chosen = {
        "fit": train_side[:-n_calibration],
        "calibration": train_side[-n_calibration:],
        "test": order[train_side.numel():],
    }[part]
    return chosen.sort().values


# --- folder layouts -----------------------------------------------------------------------------
@dataclass
class _Entry:
    image: Path
    kind: str
    mask: Path | None  # None: no mask known (all-normal for "good")


def _defects_layout(root: Path, part: Part) -> tuple[list[_Entry], bool]:
    """MVTec-style: train/ normal, test/good and test/<defect>, optional masks. A folder
    without train/ and test/ is a set of unlabelled images to score."""
    train, test = root / "train", root / "test"
    if not train.is_dir() and not test.is_dir():
        if part != "test":
            raise GankitError(f"defects:{root} has no train/ folder of normal images to train on")
        return [_Entry(path, "", None) for path in _images(root)], False
    if part != "test":
        if not train.is_dir():
            raise GankitError(f"defects:{root} has no train/ folder of normal images")
        return _split_list([_Entry(p, NORMAL, None) for p in _images(train)], part, whole_train_side=True), True
    if not test.is_dir():
        raise GankitError(f"defects:{root} has no test/ folder (test/good and test/<defect>)")
    masks = next((root / name for name in ("ground_truth", "masks") if (root / name).is_dir()), None)
    entries = []
    for folder in sorted(p for p in test.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in _images(folder):
            mask = None if masks is None or folder.name == NORMAL else _find_mask(masks / folder.name, path)
            entries.append(_Entry(path, folder.name, mask))
    if not entries:
        raise GankitError(f"defects:{root}: test/ holds no images in subfolders (test/good, test/<defect>)")
    return entries, True


def _find_mask(folder: Path, image: Path) -> Path | None:
    for stem in (image.stem, image.stem + "_mask"):
        for extension in (".png", image.suffix, ".bmp", ".tif", ".jpg"):
            candidate = folder / (stem + extension)
            if candidate.is_file():
                return candidate
    return None


def _magnetic_tile_layout(root: Path, part: Part) -> tuple[list[_Entry], bool]:
    """MT_Free is normal and split 80/20; every other MT_<defect> class is test only.
    Masks lie beside the images: <name>.jpg and <name>.png."""
    classes = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("MT_"))
    if not any(p.name == "MT_Free" for p in classes):
        raise GankitError(f"magnetic-tile:{root} has no MT_Free folder (expected MT_<class>/Imgs/<name>.jpg)")
    entries = []
    for folder in classes:
        kind = NORMAL if folder.name == "MT_Free" else folder.name.removeprefix("MT_")
        images = sorted((folder / "Imgs").glob("*.jpg"))
        if kind == NORMAL:
            chosen = _split_list([_Entry(p, kind, None) for p in images], part)
            entries += chosen
        elif part == "test":
            entries += [_Entry(p, kind, p.with_suffix(".png") if p.with_suffix(".png").is_file() else None) for p in images]
    return entries, True


def _split_list(entries: list[_Entry], part: Part, whole_train_side: bool = False) -> list[_Entry]:
    """The ``part`` of a list of normal entries. With ``whole_train_side`` the list is already the
    train side (a separate train/ folder), so only fit/calibration are split off."""
    index = torch.arange(len(entries))
    if whole_train_side:
        order = index[torch.randperm(len(entries), generator=torch.Generator().manual_seed(SPLIT_SEED))]
        n_calibration = max(1, int(round(len(entries) * CALIBRATION_FRACTION)))
        chosen = order[:-n_calibration] if part == "fit" else order[-n_calibration:]
        chosen = chosen.sort().values
    else:
        chosen = _split(index, part)
    return [entries[i] for i in chosen.tolist()]


FOLDER_PROTOCOLS = {"defects": _defects_layout, "magnetic-tile": _magnetic_tile_layout}


def _images(folder: Path) -> list[Path]:
    found = []
    for parent, subfolders, names in os.walk(folder):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in names:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                found.append(Path(parent, name))
    return sorted(found)


def _load_files(listing: tuple[list[_Entry], bool], spec: FolderProtocolSpec, name: str) -> AnomalySet:
    entries, labelled = listing
    if not entries:
        raise GankitError(f"{name}: no images in this part of the protocol")
    channels = spec.channels or _channels_of([e.image for e in entries[:64]])
    size = spec.image_size or DEFAULT_SIZE
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        images = list(pool.map(lambda e: _decode_image(e.image, channels, size), entries))
        masks = list(pool.map(lambda e: _decode_mask(e.mask, size), entries))
    x = to_signed(torch.stack(images))  # [N, C, S, S]
    kinds = [e.kind for e in entries]
    class_names = [NORMAL] + sorted({k for k in kinds if k != NORMAL}) if labelled else []
    y = torch.tensor([class_names.index(k) for k in kinds] if labelled else [-1] * len(kinds), dtype=torch.long)
    is_anomaly = y > 0 if labelled else None
    has_masks = labelled and any(e.mask is not None for e in entries)
    return AnomalySet(
        data=Data(name=name, kind="image", shape=tuple(x.shape[1:]), class_names=class_names, x=x, y=y, source=None,
                  files=[e.image for e in entries]),
        kinds=kinds,
        is_anomaly=is_anomaly,
        masks=torch.stack(masks) if has_masks else None,  # [N, 1, S, S]
        names=[str(e.image) for e in entries],
    )


def _channels_of(paths: list[Path]) -> int:
    greys = []
    for path in paths:
        try:
            greys.append(read_header(path).grey)
        except DECODE_ERRORS as error:
            raise GankitError(f"cannot read {path} as an image ({error})") from None
    return 1 if all(greys) else 3


def _decode_image(path: Path, channels: int, size: int) -> Tensor:
    """uint8 [C, size, size]; the whole image is resized (no crop) so no defect is cut off."""
    try:
        with open_image(path) as image:
            pixels = np.array(to_mode(image, "L" if channels == 1 else "RGB"), dtype=np.uint8)
    except DECODE_ERRORS as error:
        raise GankitError(f"cannot decode {path} ({error})") from None
    tensor = torch.from_numpy(pixels.reshape(*pixels.shape[:2], -1)).permute(2, 0, 1)  # [C, H, W]
    resized = F.interpolate(tensor[None].float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return resized[0].round().clamp(0, 255).to(torch.uint8)


def _decode_mask(path: Path | None, size: int) -> Tensor:
    """bool [1, size, size]: nearest-neighbour resize (no invented edge values), then > 127."""
    if path is None:
        return torch.zeros(1, size, size, dtype=torch.bool)
    try:
        with open_image(path) as image:
            pixels = np.array(to_mode(image, "L"), dtype=np.uint8)
    except DECODE_ERRORS as error:
        raise GankitError(f"cannot decode mask {path} ({error})") from None
    resized = F.interpolate(torch.from_numpy(pixels)[None, None].float(), size=(size, size), mode="nearest")
    return resized[0] > 127
