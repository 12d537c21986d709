"""What an exported file computes for each variant: one small ``nn.Module`` per job whose
``forward`` takes and returns plain tensors, so that ONNX and TorchScript can record it.

Generators map latents to images; StyleGAN also takes the truncation psi, with its
tracked mean w and one fixed draw of the noise maps baked in (and each nearest 2x
upsampling + 3x3 conv recorded as one equivalent transposed conv, 2.25x fewer
multiply-adds: ``UpsampledConv``); CycleGAN has one job
per direction; detectors map images to (raw score, normalised score, decision, map,
reconstruction) with the run's calibration, map smoothing (``model.map_sigma``) and image
score (``model.image_score``) stored as constants. A detector that scores larger images by tiles (trained on patches) is
exported as what it runs on each tile, (tile score, map, reconstruction); ``gankit.deploy``
tiles, stitches and decides with ``gankit.detection``, as ``model.score_dataset`` does, by
the sidecar's ``scoring`` facts. AnoGAN is refused: its score is a gradient-based latent
search, which an inference runtime cannot run.

    jobs = jobs_for(gankit.load("runs/ganomaly-digits"))   # [Job("score", ...)]
    outputs = jobs[0].module(*jobs[0].inputs.values())      # eager reference of the file
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.config import DataConfig
from gankit.data.kinds import FolderProtocolSpec
from gankit.data.specs import resolve_spec
from gankit.detection import Tiler, decide
from gankit.errors import GankitError
from gankit.models.base import GANModel

EXAMPLE_BATCH = 2  # the batch the graphs are recorded with; every file takes any batch size
NOISE_SEED = 0  # StyleGAN's baked noise maps: one standard-normal draw, shared by every image

# Variants whose job an inference runtime cannot run, and why (shown by `gankit export` and the docs).
NOT_EXPORTABLE = {
    "anogan": (
        "AnoGAN scores an image by a latent search: hundreds of Adam steps on z, each one a gradient of "
        "|x - G(z)| and D's features with respect to z. ONNX Runtime's inference sessions compute no gradients "
        "and a traced TorchScript file records one forward pass, not an optimiser loop, so neither could score; "
        "deploy f-AnoGAN, EGBAD, GANomaly or ALAD (one-pass scores) or score AnoGAN runs with 'gankit score'"
    ),
}


@dataclass
class Job:
    """One exported file: the module, example inputs by name, output names and the sidecar's contract."""

    name: str  # "sample", "translate" or "score"
    module: nn.Module  # GAN generators and CycleGAN's are exported as they are: their forward is the job
    inputs: dict[str, Tensor]
    outputs: list[str]
    contract: dict[str, Any]  # the inputs and outputs as the sidecar documents them
    suffix: str = ""  # appended to the file's stem (CycleGAN's direction)
    extra: dict[str, Any] = field(default_factory=dict)  # job facts for the sidecar (calibration, direction)


def image_contract(shape: tuple[int, ...], batch: str = "N") -> dict[str, Any]:
    return {"shape": [batch, *shape], "dtype": "float32", "range": [-1.0, 1.0], "layout": "NCHW",
            "from_pixels": "x = pixel / 127.5 - 1 (uint8 grey or RGB, resized to the training size)"}


class UpsampledConv(nn.Module):
    """Nearest 2x upsampling followed by a 3x3 'same' convolution (``EqualConv2d``), computed as one
    stride-2 transposed 4x4 convolution of the small map: the same sums (the two taps that read one
    repeated pixel are added once, in the kernel), with 16 multiply-adds per input pixel and channel
    pair instead of 36. In 1-D, output 2i reads x[i-1] * w0 + x[i] * (w1 + w2)
    and output 2i+1 reads x[i] * (w0 + w1) + x[i+1] * w2, i.e. the transposed kernel
    [w2, w1 + w2, w0 + w1, w0] with padding 1; zero padding of the upsampled map is zero padding of x.
    """

    # Row k of the 4-tap transposed kernel as a sum of the 3 taps: [w2, w1 + w2, w0 + w1, w0].
    TAPS = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])

    def __init__(self, conv: nn.Module) -> None:
        super().__init__()
        weight = conv.weight.detach() * conv.weight_scale  # [C_out, C_in, 3, 3]
        kernel = torch.einsum("ka,oiab,lb->iokl", self.TAPS, weight, self.TAPS)  # [C_in, C_out, 4, 4]
        self.register_buffer("kernel", kernel)
        self.register_buffer("bias", None if conv.bias is None else conv.bias.detach().clone())

    def forward(self, x: Tensor) -> Tensor:
        return F.conv_transpose2d(x, self.kernel, self.bias, stride=2, padding=1)  # [N, C_out, 2H, 2W]


def fuse_upsampling(synthesis: nn.Module) -> nn.Module:
    """A copy of StyleGAN's synthesis network whose upsampling layers run ``UpsampledConv``."""
    synthesis = copy.deepcopy(synthesis)
    for layer in synthesis.layers:
        if layer.upsample:
            layer.upsample, layer.conv = False, UpsampledConv(layer.conv)
    return synthesis


class StyleSampler(nn.Module):
    """(z [N, latent], psi [1]) -> images [N, C, H, W] of StyleGAN's EMA generator, truncated on every
    layer towards the tracked mean w. Written out here rather than calling ``StyleGAN.truncate``, whose
    psi is a Python number checked with Python branches; this one takes psi as a graph input."""

    def __init__(self, model: GANModel) -> None:
        super().__init__()
        self.mapping = model.generator_ema.mapping
        # ONNX Runtime's convolutions are no faster than PyTorch's (oneDNN) on these layers, so without
        # this rewrite the file would sample no faster than eager PyTorch (docs/deploy.md, Speed).
        self.synthesis = fuse_upsampling(model.generator_ema.synthesis)
        self.num_layers = model.num_layers
        self.register_buffer("w_avg", model.w_avg.detach().clone())
        noise = model.make_noise(1, torch.Generator().manual_seed(NOISE_SEED))  # one [1, 1, R, R] per layer
        self.noise = nn.ParameterList([nn.Parameter(m.detach().cpu(), requires_grad=False) for m in noise])

    def forward(self, z: Tensor, psi: Tensor) -> Tensor:
        n = z.shape[0]
        w = self.w_avg.lerp(self.mapping(z), psi)  # [N, w_dim]
        ws = w[:, None].expand(n, self.num_layers, w.shape[1])  # [N, L, w_dim]
        noise = [m.expand(n, -1, -1, -1) for m in self.noise]
        return self.synthesis(ws, noise).clamp(-1, 1)


class Detector(nn.Module):
    """Images [N, C, H, W] at the networks' size -> (raw score [N], normalised score [N], decision [N],
    map [N, 1, H, W], reconstruction [N, C, H, W]), with the run's calibration, map smoothing and image
    score as constants: the raw score and map are ``model.score_dataset``'s, of which the calibration
    was taken."""

    def __init__(self, model: GANModel, threshold: float) -> None:
        super().__init__()
        self.model = model
        self.image_score, self.top_k, self.map_sigma = model.config.image_score, model.config.top_k, model.config.map_sigma
        raw_threshold, scale = model.normalization()
        self.register_buffer("raw_threshold", torch.tensor(raw_threshold))
        self.register_buffer("scale", torch.tensor(scale))
        self.register_buffer("threshold", torch.tensor(threshold))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        output = self.model.anomaly_score(x)
        raw, score, decision, maps = decide(output.scores, output.maps, self.image_score, self.top_k, self.map_sigma,
                                            self.raw_threshold, self.scale, self.threshold)
        return raw, score, decision, maps, output.reconstructions


class TileScorer(nn.Module):
    """Tiles [N, C, P, P] -> (the detector's score of each tile [N], map [N, 1, P, P], reconstruction
    [N, C, P, P]): what a tiled detector runs per tile; the image score and the decision are taken
    after stitching (``gankit.deploy``), because the calibration is of whole images' scores."""

    def __init__(self, model: GANModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        output = self.model.anomaly_score(x)
        return output.scores, output.maps, output.reconstructions


DETECTOR_OUTPUTS = {
    "raw_score": {"shape": ["N"], "dtype": "float32",
                  "meaning": "the image score (sidecar scoring.image_score), higher = more anomalous"},
    "score": {"shape": ["N"], "dtype": "float32", "meaning": "sigmoid((raw_score - raw_threshold) / scale), in (0, 1)"},
    "decision": {"shape": ["N"], "dtype": "bool", "meaning": "score >= threshold: anomalous"},
    "map": {"shape": ["N", 1, "H", "W"], "dtype": "float32",
            "meaning": "per-pixel anomaly |x - reconstruction|, smoothed by a Gaussian of scoring.map_sigma px"},
    "reconstruction": {"shape": ["N", "C", "H", "W"], "dtype": "float32", "meaning": "the normal image that explains x"},
}
TILE_OUTPUTS = {
    "tile_score": {"shape": ["N"], "dtype": "float32", "meaning": "the detector's own score of each tile"},
    "map": {"shape": ["N", 1, "P", "P"], "dtype": "float32", "meaning": "per-pixel anomaly of each tile"},
    "reconstruction": {"shape": ["N", "C", "P", "P"], "dtype": "float32", "meaning": "the normal tile that explains it"},
}


def scoring_facts(model: GANModel) -> dict[str, Any]:
    """How ``gankit score`` scores the run's images: their size (``data.image_size``, or the data
    set's own size, read from its calibration part, when that is not set) and how a file is brought
    to it (the anomaly-detection folders resize the whole image, other data the shorter side and
    crop the centre), the patch size the networks were trained on, the tiles' stride when the
    images are larger than the networks' input, the map smoothing, the image score and the tiles per call."""
    data, config = model.run_config.data, model.config
    size = model.data_shape[-1] if data.patch_size is None else data.image_size or calibration_size(data)
    tiled = size != model.data_shape[-1]
    return {"image_size": size, "resize": "whole" if isinstance(resolve_spec(data), FolderProtocolSpec) else "crop",
            "patch_size": data.patch_size,
            "tile_stride": Tiler(model.data_shape[-1], config.tile_stride).stride if tiled else None,
            "map_sigma": config.map_sigma, "image_score": config.image_score, "top_k": config.top_k,
            "tile_batch": config.score_batch_size}


def calibration_size(data: DataConfig) -> int:
    """The size of the images the run was calibrated on (its data set's own size)."""
    from gankit.data.anomaly import load_anomaly

    return load_anomaly(resolve_spec(data), "calibration").data.shape[-1]


def jobs_for(model: GANModel, threshold: float = 0.5) -> list[Job]:
    """The exported jobs of a loaded model (eval mode, CPU), or a GankitError saying why there are none."""
    name = model.run_config.model_name
    if name in NOT_EXPORTABLE:
        raise GankitError(f"{name} cannot be exported: {NOT_EXPORTABLE[name]}")
    capabilities = model.capabilities()
    shape = tuple(model.data_shape)
    if "anomaly_score" in capabilities:
        if not model.calibrated:
            raise GankitError(f"{name} run has no calibration, so an exported detector could not decide; "
                              "train it on an anomaly-detection protocol (see docs/anomaly.md)")
        raw_threshold, scale = model.normalization()
        x = torch.rand(EXAMPLE_BATCH, *shape) * 2 - 1
        calibration = {"raw_threshold": raw_threshold, "scale": scale, "threshold": threshold,
                       "threshold_quantile": model.config.threshold_quantile,
                       "calibration_images": model.calibration_scores.numel()}
        extra = {"calibration": calibration, "scoring": scoring_facts(model)}
        size = extra["scoring"]["image_size"]
        if extra["scoring"]["tile_stride"] is None:
            return [Job("score", Detector(model, threshold), {"x": x}, list(DETECTOR_OUTPUTS),
                        {"inputs": {"x": image_contract(shape)}, "outputs": DETECTOR_OUTPUTS}, extra=extra)]
        tiles = {**image_contract(shape), "meaning": f"tiles of {shape[-1]} px of images brought to {size} px "
                 "(gankit.deploy cuts, stitches and decides by the sidecar's scoring facts)"}
        return [Job("score", TileScorer(model), {"x": x}, list(TILE_OUTPUTS),
                    {"inputs": {"x": tiles}, "outputs": TILE_OUTPUTS}, extra=extra)]
    if "translate" in capabilities:
        generators = {"a2b": model.generator_ab, "b2a": model.generator_ba}
        x = torch.rand(EXAMPLE_BATCH, *shape) * 2 - 1
        return [Job("translate", generators[d], {"x": x}, ["image"],
                    {"inputs": {"x": image_contract(shape)}, "outputs": {"image": image_contract(shape)}},
                    suffix=f"-{d}", extra={"direction": d}) for d in model.directions]
    latent_dim = model.config.latent_dim
    z = torch.randn(EXAMPLE_BATCH, latent_dim)
    z_contract = {"shape": ["N", latent_dim], "dtype": "float32", "meaning": "standard normal latents"}
    output = image_contract(shape) if model.is_image_model else {"shape": ["N", *shape], "dtype": "float32"}
    if name == "stylegan":
        psi = {"shape": [1], "dtype": "float32", "meaning": "truncation psi on every layer (1 = off)"}
        return [Job("sample", StyleSampler(model), {"z": z, "psi": torch.ones(1)}, ["image"],
                    {"inputs": {"z": z_contract, "psi": psi}, "outputs": {"image": output}},
                    extra={"noise": f"fixed: one standard-normal draw (seed {NOISE_SEED}) shared by every image"})]
    return [Job("sample", model.generator_network(), {"z": z}, ["image"],
                {"inputs": {"z": z_contract}, "outputs": {"image": output}})]
