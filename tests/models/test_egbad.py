"""EGBAD: the score mixes the L1 residual and D's feature distance with alpha."""

import torch

from gankit.models.egbad.model import EGBAD, EGBADConfig


def test_alpha_one_is_the_l1_residual_and_cross_entropy_form_works():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 16, 16) * 2 - 1
    model = EGBAD(EGBADConfig(latent_dim=8, g_width=8, d_width=8, joint_width=16, alpha=1.0), (1, 16, 16))
    out = model.anomaly_score(x)
    assert torch.allclose(out.scores, (x - out.reconstructions).abs().flatten(1).sum(1), rtol=1e-5)
    model.config.score_discrimination = "cross_entropy"
    model.config.alpha = 0.0
    scores = model.anomaly_score(x).scores
    assert scores.shape == (4,) and torch.all(scores > 0)
