"""Numeric precision of training: ``train.precision`` is 32, bf16 or 16-mixed.

Weights and optimizer states stay fp32 in every mode; ``bf16`` and
``16-mixed`` run the networks' forward and backward under ``torch.autocast``
(bf16 also on CPUs with AVX512-BF16 or AMX). fp16's narrow range needs loss
scaling: one ``torch.amp.GradScaler`` per optimizer, used by
``GANModel.optimize``, skips a step whose gradients overflowed and lowers the
scale. Gradient penalties and R1 switch autocast off and run in fp32
(``gankit.nn.losses``), because their double backward is where half precision
loses the small gradients they measure.

    precision = Precision("bf16", torch.device("cpu"))
    model.prepare_training(precision.grad_scalers)   # optimizers, and one loss scaler each for fp16
    with precision.autocast():
        logs = model.train_step(batch, step)
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import torch

from gankit.config import PRECISION_NAMES
from gankit.errors import GankitError

PRECISIONS = dict(zip(PRECISION_NAMES, (None, torch.bfloat16, torch.float16)))


@dataclass
class Precision:
    name: str
    device: torch.device

    def __post_init__(self) -> None:
        # The name was checked with the config (TrainConfig); what is left depends on the device.
        if self.name == "bf16" and self.device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise GankitError("this GPU has no bf16 support; use --precision 16-mixed or 32")

    @property
    def dtype(self) -> torch.dtype | None:
        return PRECISIONS[self.name]

    def autocast(self) -> Any:
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def grad_scalers(self, optimizers: dict[str, Any]) -> dict[str, torch.amp.GradScaler]:
        """One loss scaler per optimizer for fp16; none otherwise (bf16 has fp32's range)."""
        if self.name != "16-mixed":
            return {}
        return {name: torch.amp.GradScaler(self.device.type) for name in optimizers}
