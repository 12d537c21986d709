"""CycleGAN's objective (Zhu et al. 2017, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", eq. 3 and section 5.2): least-squares
adversarial terms for both mappings, the L1 cycle loss ||F(G(a)) - a|| +
||G(F(b)) - b|| weighted by lambda, and the identity loss ||G(b) - b|| +
||F(a) - a|| weighted by identity * lambda.

    terms = generator_terms(scores_fake_b, scores_fake_a, a, rec_a, b, rec_b)
    loss_g = total(terms, cycle_weight=10.0, identity_weight=0.5)
    loss_d = discriminator_loss(d(b), d(pool.query(fake_b)))
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from gankit.nn import losses


def generator_adversarial(fake_scores: Tensor) -> Tensor:
    """E[(D(G(x)) - 1)^2], the paper's generator term (LSGAN's form carries an extra 1/2)."""
    return 2 * losses.generator_least_squares(fake_scores)


def discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """0.5 * (E[(D(y) - 1)^2] + E[D(G(x))^2]): the paper halves D's objective to slow D down."""
    return losses.discriminator_least_squares(real_scores, fake_scores)


def generator_terms(
    scores_fake_b: Tensor,
    scores_fake_a: Tensor,
    a: Tensor,
    rec_a: Tensor,
    b: Tensor,
    rec_b: Tensor,
    same_a: Tensor | None = None,
    same_b: Tensor | None = None,
) -> dict[str, Tensor]:
    """The unweighted terms; ``same_a = F(a)`` and ``same_b = G(b)`` when the identity loss is on."""
    terms = {
        "adv_ab": generator_adversarial(scores_fake_b),
        "adv_ba": generator_adversarial(scores_fake_a),
        "cycle_a": F.l1_loss(rec_a, a),
        "cycle_b": F.l1_loss(rec_b, b),
    }
    if same_a is not None and same_b is not None:
        terms["identity_a"] = F.l1_loss(same_a, a)
        terms["identity_b"] = F.l1_loss(same_b, b)
    return terms


def total(terms: dict[str, Tensor], cycle_weight: float, identity_weight: float) -> Tensor:
    """adversarial + lambda * cycle + identity * lambda * identity terms (eq. 3 plus section 5.2)."""
    loss = terms["adv_ab"] + terms["adv_ba"] + cycle_weight * (terms["cycle_a"] + terms["cycle_b"])
    if "identity_a" in terms:
        loss = loss + identity_weight * cycle_weight * (terms["identity_a"] + terms["identity_b"])
    return loss
