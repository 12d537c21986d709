"""The anomaly-detection protocols (:mod:`gankit.data.protocols`) with the data specs'
own loader: the one entry point for a protocol's fit, calibration and test parts.

    fit = load_anomaly(DataConfig(spec="mnist", anomaly_classes=[3]), "fit")        # nine digits, 72%
    calibration = load_anomaly(config, "calibration")                               # held-out normal
    test = load_anomaly(config, "test"); test.is_anomaly.float().mean()              # 20% normal + all 3s
"""

from __future__ import annotations

from gankit.config import DataConfig
from gankit.data.kinds import Spec
from gankit.data.protocols import AnomalySet, Part, load_protocol
from gankit.data.specs import load_data, resolve_spec


def load_anomaly(config: DataConfig | Spec, part: Part) -> AnomalySet:
    """``part`` of the protocol that ``config`` (a DataConfig, resolved here, or a resolved spec) describes."""
    return load_protocol(resolve_spec(config), part, load_data)
