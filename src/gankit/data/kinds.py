"""What a data spec names, as typed objects that own their options.

``DataConfig`` is the flat ``data:`` section a run stores (every ``data.KEY``, defaults
included); ``gankit.data.specs.resolve_spec`` turns it, once, into one of the kinds below,
which holds only the options that kind of data takes: a ring has a radius and no image
size, a folder has loader settings and no mixture std. The loaders receive these objects,
never the raw config. A kind's fields named like ``DataConfig``'s are the options it owns
(``option_names``); resolution copies those and leaves the rest behind, and
``refuse_inapplicable`` turns a setting the user gave that the kind does not own into one
line (``data.radius does not apply to mnist, which ...``).

    spec = resolve_spec(DataConfig(spec="toy:ring8", radius=3.0))
    type(spec).__name__, spec.radius     # "RingSpec", 3.0
    spec.owns("image_size")              # False: 2-D points have no image size
    resolve_spec(DataConfig(spec="mnist", anomaly_classes=[3]))   # LabelledProtocolSpec(images=KnownSetSpec(...))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

from gankit.config import DataConfig
from gankit.data.dataset import Data, fit_in_box, keep_random
from gankit.errors import GankitError

DATA_OPTIONS = frozenset(f.name for f in dataclasses.fields(DataConfig))  # every data.KEY
_S = TypeVar("_S", bound="Spec")


@dataclass(frozen=True, kw_only=True)
class Spec:
    """A data spec resolved from a ``DataConfig``: its kind, and the options that kind takes."""

    text: str  # data.spec as written, for names and messages
    prefix: str  # the registry entry that loads it (gankit.data.specs.SPECS)
    ABOUT: ClassVar[str]  # "which ...": what this kind of data is, for messages

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """The data.KEY settings this kind owns: its fields named like DataConfig's."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.name in DATA_OPTIONS)

    @classmethod
    def from_config(cls: type[_S], config: DataConfig, **fields: Any) -> _S:
        """This kind with the options it owns taken from ``config``; ``fields`` gives the rest."""
        owned = {name: getattr(config, name) for name in cls.option_names()}
        return cls(text=config.spec, **owned, **fields)

    def owns(self, option: str) -> bool:
        return option == "spec" or option in self.option_names()

    def refuse_inapplicable(self, given: Iterable[str], where: str = "") -> None:
        """A GankitError naming the ``given`` settings (data.KEY names) this data does not take."""
        foreign = [key for key in given if not self.owns(key)]
        if foreign:
            names = ", ".join(f"data.{key}" for key in foreign)
            verb, them = ("does", "it") if len(foreign) == 1 else ("do", "them")
            raise GankitError(f"{where}{names} {verb} not apply to {self.text}, which {self.ABOUT}; leave {them} out")

    def finish(self, data: Data) -> Data:
        """What the options applied after loading (data.limit, data.box) make of ``data``."""
        return data


@dataclass(frozen=True, kw_only=True)
class SetSpec(Spec):
    """One data set read by one loader."""

    split: Literal["train", "test"]
    seed: int  # toy sampling and data.limit's draw
    limit: int | None

    def finish(self, data: Data) -> Data:
        return keep_random(data, self.limit, self.seed) if self.limit is not None else data


# --- 2-D points ---------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class ToySpec(SetSpec):
    """A 2-D Gaussian mixture (``toy:NAME``); each mixture adds the setting that sizes it."""

    ABOUT = "holds 2-D points"
    mixture: str
    std: float | None
    toy_samples: int
    classes: list[int] | None  # modes to keep


@dataclass(frozen=True, kw_only=True)
class RingSpec(ToySpec):
    radius: float


@dataclass(frozen=True, kw_only=True)
class GridSpec(ToySpec):
    spacing: float


# --- images -------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class ImageSpec(SetSpec):
    """Images brought to one size and channel count."""

    image_size: int | None  # None: the data set's own size
    channels: int | None
    box: int | None
    patch_size: int | None  # read by the training loop (random patches), not by the loaders

    def finish(self, data: Data) -> Data:
        data = super().finish(data)
        return fit_in_box(data, self.box) if self.box is not None else data


@dataclass(frozen=True, kw_only=True)
class ImageSetSpec(ImageSpec):
    """Images whose labels select classes (``data.classes``) and which a labelled anomaly
    protocol can re-split by class (``data.normal_classes`` / ``data.anomaly_classes``)."""

    classes: list[int] | None


@dataclass(frozen=True, kw_only=True)
class KnownSetSpec(ImageSetSpec):
    """A labelled set gankit knows by name: digits, mnist[:DIR], fashion-mnist[:DIR]."""

    ABOUT = "is a labelled image set held in memory"
    folder: str | None  # where its files are; None: the bundled copy or the cache


@dataclass(frozen=True, kw_only=True)
class FolderSpec(ImageSetSpec):
    """``folder:DIR``: first-level subfolders are classes; decoded in memory or streamed."""

    ABOUT = "is a folder of images"
    folder: str
    in_memory: Literal["auto", "always", "never"]
    max_memory_mb: int
    num_workers: int  # read by the training loop's stream when the set is streamed


# --- anomaly-detection protocols ----------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class ProtocolSpec(Spec):
    """An anomaly-detection protocol: normal images to fit on, held-out normal images to
    calibrate on, and a labelled test part (gankit.data.protocols)."""


@dataclass(frozen=True, kw_only=True)
class LabelledProtocolSpec(ProtocolSpec):
    """A labelled image set re-split by class: its own options stay with ``images``."""

    ABOUT = "is an anomaly-detection protocol on a labelled image set"
    split: Literal["train", "test"]  # load_data gives the fit part (train) or the test part (test)
    normal_classes: list[int] | None
    anomaly_classes: list[int] | None
    images: ImageSetSpec  # without a class filter: the protocol chooses the classes

    def __post_init__(self) -> None:
        if self.images.classes is not None:
            raise GankitError("data.classes cannot be combined with data.normal_classes / data.anomaly_classes")

    def owns(self, option: str) -> bool:
        return super().owns(option) or self.images.owns(option)


@dataclass(frozen=True, kw_only=True)
class FolderProtocolSpec(ImageSpec, ProtocolSpec):
    """``defects:DIR`` or ``magnetic-tile:DIR``: the layout names normal and anomalous images."""

    ABOUT = "defines its own normal and anomalous images"
    folder: str


# --- two domains --------------------------------------------------------------------------------
NOT_SHARED = frozenset({"patch_size", "normal_classes", "anomaly_classes"})  # no meaning for two domains


@dataclass(frozen=True, kw_only=True)
class TwoDomainSpec(Spec):
    """Two image domains (``unpaired:A,B``), each a spec of its own: the shared data settings
    went to both parts when they were resolved, beside each part's own ``[key=value]``."""

    ABOUT = "holds two image domains (a domain's own settings go in brackets: unpaired:A[key=value],B)"
    name: str
    parts: tuple[Spec, Spec]
    paired: bool

    def owns(self, option: str) -> bool:
        return option == "spec" or (option not in NOT_SHARED and any(part.owns(option) for part in self.parts))
